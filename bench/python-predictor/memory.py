#!/usr/bin/env python3
"""Peak and kept memory of the Python predictor runtime for request bodies of N MiB; figures in README.md here.

  /usr/bin/python3 bench/python-predictor/memory.py [--sizes 1,16,64,120] [--shapes floats,ints,records,text,bytes]
                                                    [--runtime DIR] [--compare DIR]

For each body shape and size, a fresh runtime process (one process, one thread) serving a predictor that
only returns ``len(payload)``: its RSS before the request, its peak RSS during it (``VmHWM``, reset with
``/proc/PID/clear_refs`` just before), and its RSS once the response is back and the process has settled.
The factor is (peak - before) / body size: what one request of that size costs the replica at most.

``--compare DIR`` runs another runtime package directory (e.g. an older checkout's
images/python-predictor) the same way, side by side. Linux only (/proc); everything listens on 127.0.0.1.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNTIME_DIR = ROOT / "images" / "python-predictor"
MiB = 1024 * 1024

PREDICTOR = """
class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        return len(payload)
"""

SETTINGS = {
    "version": 1, "api_name": "memory", "port": 8080, "type": "python", "path": "predictor.py", "config": {},
    "models": None, "server_side_batching": None, "processes_per_replica": 1, "threads_per_process": 1,
    "log_level": "warning", "python_path": None, "signature_key": None, "tracker": None,
    "compute": {"cpu": None, "mem": None, "gpu": 0, "inf": 0},
}


def _repeat_to(size: int, opening: bytes, item: bytes, closing: bytes) -> bytes:
    """``opening item,item,...,item closing`` of about ``size`` bytes: valid JSON, built fast."""
    count = max(1, (size - len(opening) - len(closing)) // (len(item) + 1))
    return opening + b",".join([item] * count) + closing


def floats(size: int) -> Tuple[str, bytes]:
    return "application/json", _repeat_to(size, b"[", b"0.5488135039273248", b"]")


def ints(size: int) -> Tuple[str, bytes]:
    return "application/json", _repeat_to(size, b"[", b"7", b"]")


def records(size: int) -> Tuple[str, bytes]:
    return "application/json", _repeat_to(size, b"[", b'{"sepal_length":5.1,"sepal_width":3.5}', b"]")


def text(size: int) -> Tuple[str, bytes]:
    return "text/plain; charset=utf-8", b"lorem ipsum " * (size // 12)


def raw_bytes(size: int) -> Tuple[str, bytes]:
    return "application/octet-stream", os.urandom(1024) * (size // 1024)


SHAPES: Dict[str, Callable[[int], Tuple[str, bytes]]] = {
    "floats": floats, "ints": ints, "records": records, "text": text, "bytes": raw_bytes,
}


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, content_type: str, body: bytes, timeout: float = 300.0) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                  % (content_type.encode(), len(body)))
        s.sendall(body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0


class Runtime:
    def __init__(self, runtime_dir: Path, workdir: Path, env: Dict[str, str]) -> None:
        (workdir / "predictor.py").write_text(PREDICTOR)
        settings = workdir / "predictor.json"
        settings.write_text(json.dumps(SETTINGS))
        self.port = free_port()
        self.log = workdir / "runtime.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cortex_runtime", "--settings", str(settings), "--project-dir", str(workdir),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env={**os.environ, "PYTHONPATH": str(runtime_dir), "PYTHONDONTWRITEBYTECODE": "1",
                     # Any free admin port (a runtime without one, e.g. --compare with an older checkout, ignores it).
                     "CORTEX_ADMIN_PORT": "0", **env},
                stdout=log, stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the runtime exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                if post(self.port, "application/json", b"[1]", timeout=5) == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the runtime was not ready after {timeout}s:\n{self.log.read_text()}")

    def settled_rss_kib(self, seconds: float = 2.0) -> int:
        """RSS once it stops falling (memory is handed back after the response is sent)."""
        last = status_kib(self.proc.pid, "VmRSS")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = status_kib(self.proc.pid, "VmRSS")
            if now >= last - 256:
                return now
            last = now
        return last

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def measure(runtime_dir: Path, content_type: str, body: bytes, env: Dict[str, str]) -> Optional[Tuple[int, int, int, int]]:
    """(status, RSS before, peak, RSS after) in KiB; one fresh process per measurement."""
    with tempfile.TemporaryDirectory(prefix="cortex-memory-bench-") as tmp:
        runtime = Runtime(runtime_dir, Path(tmp), env)
        try:
            runtime.wait_ready()
            for _ in range(3):  # warm up: first requests allocate what every request reuses
                post(runtime.port, content_type, body[:1024] if content_type.startswith("application/octet") else b"[1]")
            pid = runtime.proc.pid
            before = runtime.settled_rss_kib()
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
            status = post(runtime.port, content_type, body)
            peak = status_kib(pid, "VmHWM")
            after = runtime.settled_rss_kib()
            return status, before, peak, after
        finally:
            runtime.stop()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,16,64,120", help="body sizes in MiB, comma-separated (default 1,16,64,120)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"body shapes (default {','.join(SHAPES)})")
    parser.add_argument("--runtime", default=str(RUNTIME_DIR), help="the runtime package directory (default: this checkout's)")
    parser.add_argument("--compare", help="another runtime package directory, measured the same way")
    args = parser.parse_args(argv)
    try:
        sizes = [float(s) for s in args.sizes.split(",")]
        shapes = args.shapes.split(",")
        unknown = [s for s in shapes if s not in SHAPES]
        if unknown or not sizes or min(sizes) <= 0:
            raise ValueError(f"unknown shapes {unknown}" if unknown else "sizes must be > 0")
    except ValueError as e:
        parser.error(str(e))
    if not os.path.exists(f"/proc/{os.getpid()}/clear_refs"):
        raise SystemExit("needs Linux's /proc/PID/clear_refs to reset the peak RSS")
    runtimes = [("runtime", Path(args.runtime))] + ([("compare", Path(args.compare))] if args.compare else [])
    # Both may take the largest size: the limit under test is the body's cost, not the runtime's refusal.
    env = {"CORTEX_MAX_BODY_SIZE": str(int(max(sizes) * MiB) + MiB)}

    print(f"Python {sys.version.split()[0]}; one process, one thread; a fresh process per line; RSS in MiB")
    print(f"{'runtime':<9} {'shape':<8} {'body MiB':>8} {'status':>6} {'before':>7} {'peak':>7} {'after':>7} "
          f"{'peak-before':>11} {'factor':>6} {'kept':>6}")
    for shape in shapes:
        for size in sizes:
            content_type, body = SHAPES[shape](int(size * MiB))
            body_mib = len(body) / MiB
            for name, directory in runtimes:
                status, before, peak, after = measure(directory, content_type, body, env)
                growth = (peak - before) / 1024
                print(f"{name:<9} {shape:<8} {body_mib:>8.1f} {status:>6} {before / 1024:>7.0f} {peak / 1024:>7.0f} "
                      f"{after / 1024:>7.0f} {growth:>11.0f} {growth / body_mib:>6.2f} {(after - before) / 1024:>6.0f}",
                      flush=True)
            del body
    return 0


if __name__ == "__main__":
    sys.exit(main())
