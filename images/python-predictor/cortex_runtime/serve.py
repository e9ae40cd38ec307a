"""Running the server: one process, or a supervisor and ``processes_per_replica`` worker processes.

The listening socket is bound once, before any predictor is loaded, so that the kubelet's probe gets
a 503 (not a refused connection) while ``__init__`` runs. With several processes the supervisor binds
it and forks the workers, which all accept on it (the kernel spreads the connections); each loads
its own predictor, and ``/healthz`` answers 200 only when every worker's ``__init__`` has returned.
We fork rather than use uvicorn's ``--workers`` because readiness spans the workers, and because a
worker whose ``__init__`` fails must stop the whole container (exit non-zero), not be left out.

Exit codes: 0 after a graceful stop (SIGTERM/SIGINT), 1 when the predictor failed to load or a worker
died, 2 for unusable settings (__main__).
"""

import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import traceback
from typing import Any, Callable, List, Optional

import uvicorn

from .config import Settings
from .errors import PredictorLoadError
from .predictor import Predictor
from .server import create_app
from .tracker import Tracker

logger = logging.getLogger("cortex_runtime")

#: Longer than any proxy's idle keep-alive to us, so that the proxy, not the runtime, closes idle
#: connections (a runtime closing one as the proxy reuses it would fail that request).
KEEP_ALIVE_SECONDS = 65
NEURON_CORES_PER_DEVICE_ENV = "CORTEX_NEURON_CORES_PER_DEVICE"
RUNTIME_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: How long a failed load waits for the server to have started before stopping it (stopping a server
#: still starting leaves its lifespan task behind, which uvicorn then logs as a CancelledError).
STARTED_WAIT_SECONDS = 10.0


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it. uvicorn serving a socket it was handed leaves Nagle on, and
    # every response then waits for the client's delayed ACK (~40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def describe_load_failure(api_name: str, error: BaseException) -> str:
    """What the log says when the predictor cannot start: the reason first, then the user's traceback."""
    lines = [f"{api_name}: the predictor failed to start, exiting: {error}"]
    # Our own refusals say all there is to say; otherwise show where the user's code failed.
    cause = error.__cause__ if isinstance(error, PredictorLoadError) else error
    if cause is not None:
        lines.append(_user_traceback(cause))
    return "\n".join(lines)


def _user_traceback(error: BaseException) -> str:
    """The traceback without the runtime's own frames (unless the runtime is all there is)."""
    tb = traceback.TracebackException.from_exception(error)
    user_frames = [f for f in tb.stack if not os.path.abspath(f.filename).startswith(RUNTIME_PACKAGE_DIR)]
    if user_frames:
        tb.stack = traceback.StackSummary.from_list(user_frames)
    return "".join(tb.format()).rstrip()


def run_worker(
    settings: Settings,
    project_dir: str,
    sock: socket.socket,
    *,
    process_index: int = 0,
    on_ready: Optional[Callable[[], None]] = None,
    all_ready: Optional[Callable[[], bool]] = None,
    tracker_dir: Optional[str] = None,
) -> int:
    """Serves on ``sock`` until told to stop; loads the predictor meanwhile. Returns the exit code."""
    predictor = Predictor(settings, project_dir, process_index=process_index)
    tracker = (
        Tracker(settings.tracker, settings.api_name, shared_dir=tracker_dir, process_index=process_index)
        if settings.tracker is not None
        else None
    )
    app = create_app(predictor, settings, tracker=tracker, all_ready=all_ready)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = uvicorn.Server(config)
    failures: List[BaseException] = []

    def load() -> None:
        try:
            predictor.load()
        except BaseException as e:  # noqa: B902 — whatever it is, the process must stop and say why
            failures.append(e)
            logger.error("%s", describe_load_failure(settings.api_name, e))
            deadline = time.monotonic() + STARTED_WAIT_SECONDS
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.01)
            server.should_exit = True
            return
        if on_ready is not None:
            on_ready()

    # A daemon: a SIGTERM during a long __init__ must not wait for it.
    threading.Thread(target=load, name="cortex-load", daemon=True).start()
    server.run(sockets=[sock])
    return 1 if failures else 0


def _neuron_cores(settings: Settings, index: int, processes: int) -> None:
    """Splits the replica's NeuronCores between its processes, unless the user placed them already."""
    if settings.compute.inf <= 0 or processes <= 1 or "NEURON_RT_VISIBLE_CORES" in os.environ:
        return
    per_device = int(os.environ.get(NEURON_CORES_PER_DEVICE_ENV, "2"))
    per_process = settings.compute.inf * per_device // processes
    if per_process < 1:
        logger.warning("%d processes share %d NeuronCores: set fewer processes_per_replica", processes,
                       settings.compute.inf * per_device)
        return
    first = index * per_process
    cores = str(first) if per_process == 1 else f"{first}-{first + per_process - 1}"
    os.environ["NEURON_RT_VISIBLE_CORES"] = cores
    logger.info("worker %d: NeuronCores %s", index, cores)


def _worker_main(settings: Settings, project_dir: str, sock: socket.socket, index: int, processes: int,
                 ready_count: Any, tracker_dir: Optional[str]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _neuron_cores(settings, index, processes)

    def on_ready() -> None:
        with ready_count.get_lock():
            ready_count.value += 1

    code = run_worker(
        settings,
        project_dir,
        sock,
        process_index=index,
        on_ready=on_ready,
        all_ready=lambda: ready_count.value >= processes,
        tracker_dir=tracker_dir,
    )
    os._exit(code)


def run(settings: Settings, project_dir: str, sock: socket.socket) -> int:
    """Serves the API on ``sock`` with ``processes_per_replica`` processes. Returns the exit code."""
    processes = settings.processes_per_replica
    if processes == 1:
        return run_worker(settings, project_dir, sock)

    ctx = multiprocessing.get_context("fork")
    ready_count = ctx.Value("i", 0)
    tracker_dir = tempfile.mkdtemp(prefix="cortex-tracker-") if settings.tracker is not None else None
    workers = [
        ctx.Process(
            target=_worker_main,
            args=(settings, project_dir, sock, i, processes, ready_count, tracker_dir),
            name=f"worker-{i}",
            daemon=False,
        )
        for i in range(processes)
    ]
    for w in workers:
        w.start()
    logger.info("%s: %d worker processes started (pids %s)", settings.api_name, processes,
                ", ".join(str(w.pid) for w in workers))

    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if stopping.is_set():
            return
        stopping.set()
        logger.info("%s: received %s, stopping the workers", settings.api_name, signal.Signals(signum).name)
        for w in workers:
            if w.is_alive() and w.pid is not None:
                os.kill(w.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    exit_code = 0
    alive = list(workers)
    while alive:
        ready = multiprocessing.connection.wait([w.sentinel for w in alive])
        for w in [w for w in alive if w.sentinel in ready]:
            w.join()
            alive.remove(w)
            if not stopping.is_set():
                code = w.exitcode if w.exitcode and w.exitcode > 0 else 1  # killed (e.g. OOM): 1
                logger.error("%s: %s (pid %d) exited with code %s: stopping the others", settings.api_name,
                             w.name, w.pid, w.exitcode)
                exit_code = exit_code or code
                stopping.set()
                for other in alive:
                    if other.is_alive() and other.pid is not None:
                        os.kill(other.pid, signal.SIGTERM)
            elif w.exitcode not in (0, None) and exit_code == 0 and w.exitcode != -signal.SIGTERM:
                exit_code = w.exitcode if w.exitcode > 0 else 1
    sock.close()
    if tracker_dir is not None:
        shutil.rmtree(tracker_dir, ignore_errors=True)
    return exit_code
