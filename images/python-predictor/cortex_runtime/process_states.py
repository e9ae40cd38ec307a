"""How a replica's processes share their figures (the tracker's, the custom metrics'): each process writes its own
state to a file of the replica's shared directory, and the process that answers ``/metrics`` reads the others'."""

import json
import os
from typing import Any, Dict, Iterator


def _file_name(kind: str, process_index: int) -> str:
    return f"{kind}-{process_index}.json"


def write_own(shared_dir: str, kind: str, process_index: int, state: Dict[str, Any]) -> None:
    """Replaces this process's file whole (written aside, then renamed: a reader never sees half of it)."""
    path = os.path.join(shared_dir, _file_name(kind, process_index))
    partial = f"{path}.{os.getpid()}.partial"
    with open(partial, "w", encoding="utf-8") as f:
        json.dump(state, f)
    os.replace(partial, path)


def read_others(shared_dir: str, kind: str, process_index: int) -> Iterator[Dict[str, Any]]:
    """The other processes' states of this kind; a file that cannot be read, or is not an object, is skipped."""
    own = _file_name(kind, process_index)
    try:
        names = sorted(os.listdir(shared_dir))
    except OSError:
        return
    for name in names:
        if name.startswith(f"{kind}-") and name.endswith(".json") and name != own:
            try:
                with open(os.path.join(shared_dir, name), encoding="utf-8") as f:
                    state = json.load(f)
            except (OSError, ValueError):
                continue
            if isinstance(state, dict):
                yield state
