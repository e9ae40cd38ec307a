"""Running the server: one process, or a supervisor and ``processes_per_replica`` worker processes.

Two listening sockets, both bound once, before any predictor is loaded: the API's (``POST /``, what the
proxy forwards) and the admin one (``/healthz``, ``/metrics``: what the proxy reads, never forwarded to).
One uvicorn server serves both and routes each connection by the port it arrived on
(``ListenerDispatch``). In a pod both are on 127.0.0.1: only the proxy, in the same pod, reaches them.
``/healthz`` answers 503 (not a refused connection) while ``__init__`` runs. With several processes the
supervisor binds the sockets and forks the workers, which all accept on them (the kernel spreads the
connections); each loads its own predictor, and ``/healthz`` answers 200 only when every worker's
``__init__`` has returned. We fork rather than use uvicorn's ``--workers`` because readiness spans the
workers, and because a worker whose ``__init__`` fails must stop the whole container (exit non-zero),
not be left out.

A process whose predict threads are all stuck stops being ready, then exits (watchdog.py). SIGTERM
drains: no new connections, requests in flight finish, but for at most ``drain_timeout`` seconds; then
the process stops anyway (a predictor that hangs must not hold the pod until the kubelet's SIGKILL).

Exit codes: 0 after a stop on SIGTERM/SIGINT (drained, or cut at the drain deadline), 1 when the
predictor failed to load or a worker died (or faulthandler ended a process whose event loop was
blocked), 2 for unusable settings (__main__), 3 when the watchdog stopped a stuck process.
"""

import asyncio
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
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, MutableMapping, Optional

import uvicorn

from .batching import Batcher
from .config import Settings
from .errors import NotReadyError, PredictorLoadError
from .predictor import Predictor
from .server import create_app
from .threads import PredictThreads
from .tracker import Tracker
from .watchdog import DRAIN_EXIT_MARGIN_SECONDS, Watchdog

logger = logging.getLogger("cortex_runtime")

#: Longer than any proxy's idle keep-alive to us, so that the proxy, not the runtime, closes idle
#: connections (a runtime closing one as the proxy reuses it would fail that request).
KEEP_ALIVE_SECONDS = 65
NEURON_CORES_PER_DEVICE_ENV = "CORTEX_NEURON_CORES_PER_DEVICE"
RUNTIME_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: How long a failed load waits for the server to have started before stopping it (stopping a server
#: still starting leaves its lifespan task behind, which uvicorn then logs as a CancelledError).
STARTED_WAIT_SECONDS = 10.0
#: After the drain deadline, how long the requests answered with 503 have to go out before the rest is cut.
DRAIN_CUT_SECONDS = 1.0
DRAIN_DEADLINE_MESSAGE = "the API is shutting down and this request did not finish before the drain deadline"


@dataclass(frozen=True)
class Lifecycle:
    """How long a request may run, how long a stuck process may stay, how long SIGTERM may drain (seconds)."""

    #: ``networking.timeout``: every predict thread busy in one call longer than this is stuck.
    request_timeout: float = 600.0
    #: How long a stuck process stays (not ready) before exiting, in case a thread returns after all.
    stuck_grace: float = 30.0
    #: After SIGTERM, how long requests in flight may take to finish; None: ``request_timeout``.
    drain_timeout: Optional[float] = None

    @property
    def drain_seconds(self) -> float:
        return self.request_timeout if self.drain_timeout is None else self.drain_timeout


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class ListenerDispatch:
    """One ASGI app for two listeners: connections to ``admin_port`` go to ``admin``, the rest to ``api``."""

    def __init__(self, api: ASGIApp, admin: ASGIApp, admin_port: int) -> None:
        self.api = api
        self.admin = admin
        self.admin_port = admin_port

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        server = scope.get("server") if scope["type"] != "lifespan" else None
        if server is not None and server[1] == self.admin_port:
            await self.admin(scope, receive, send)
        else:
            await self.api(scope, receive, send)


class RuntimeServer(uvicorn.Server):
    """uvicorn's server, plus the watchdog at every tick and a deadline on the drain after SIGTERM.

    (uvicorn 0.17 waits for open connections forever after SIGTERM; ``timeout_graceful_shutdown`` came later.)
    """

    def __init__(self, config: uvicorn.Config, *, api_name: str, drain_timeout: float,
                 watchdog: Optional[Watchdog] = None, threads: Optional[PredictThreads] = None,
                 batcher: Optional[Batcher] = None) -> None:
        super().__init__(config)
        self.api_name = api_name
        self.drain_timeout = drain_timeout
        self.watchdog = watchdog
        self.threads = threads
        self.batcher = batcher

    def handle_exit(self, sig: int, frame: Any) -> None:
        first = not self.should_exit
        super().handle_exit(sig, frame)
        if not first:
            return
        logger.info("%s: received %s: finishing the requests in flight, for at most %g s", self.api_name,
                    signal.Signals(sig).name, self.drain_timeout)
        if self.watchdog is not None:
            self.watchdog.draining(self.drain_timeout)
        try:
            asyncio.get_running_loop().call_later(self.drain_timeout, self._drain_deadline)
        except RuntimeError:  # not on the loop (no loop signal handlers): faulthandler's deadline still holds
            pass

    def _drain_deadline(self) -> None:
        if not self.server_state.connections and not self.server_state.tasks:
            return
        # The calls still in predict get a 503 (their threads go on, their results are dropped), so that their
        # clients get an answer and their connections close; whatever is still open a moment later is cut.
        failed = self.threads.abandon(lambda: NotReadyError(DRAIN_DEADLINE_MESSAGE)) if self.threads is not None else 0
        if self.batcher is not None:
            # Fails the requests waiting for a batch, and those of a running batch that is not in a thread (async).
            asyncio.get_running_loop().create_task(self.batcher.close())
        logger.warning("%s: the drain deadline (%g s) has passed with %d connection(s) still open: answering the %d "
                       "request(s) still in predict with 503, and stopping", self.api_name, self.drain_timeout,
                       len(self.server_state.connections), failed)
        asyncio.get_running_loop().call_later(DRAIN_CUT_SECONDS, self._cut)

    def _cut(self) -> None:
        self.force_exit = True

    async def shutdown(self, sockets: Optional[List[socket.socket]] = None) -> None:
        await super().shutdown(sockets=sockets)
        if self.force_exit:
            # uvicorn skips the app's shutdown when forced; run it anyway (bounded), so that its task ends
            # rather than being cancelled (and logged as an error) as the loop closes.
            try:
                await asyncio.wait_for(self.lifespan.shutdown(), DRAIN_CUT_SECONDS)
            except (asyncio.TimeoutError, Exception):  # noqa: B902 — stopping anyway
                pass

    async def on_tick(self, counter: int) -> bool:
        if self.watchdog is not None:
            self.watchdog.tick()
        return await super().on_tick(counter)


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
    admin_sock: socket.socket,
    *,
    lifecycle: Lifecycle = Lifecycle(),
    process_index: int = 0,
    on_ready: Optional[Callable[[], None]] = None,
    all_ready: Optional[Callable[[], bool]] = None,
    tracker_dir: Optional[str] = None,
    stuck_count: Optional[Any] = None,
) -> int:
    """Serves on ``sock`` and ``admin_sock`` until told to stop; loads the predictor meanwhile. Returns the exit code."""
    predictor = Predictor(settings, project_dir, process_index=process_index, metrics_dir=tracker_dir)
    tracker = (
        Tracker(settings.tracker, settings.api_name, shared_dir=tracker_dir, process_index=process_index)
        if settings.tracker is not None
        else None
    )
    watchdog: Optional[Watchdog] = None
    app = create_app(predictor, settings, tracker=tracker, all_ready=all_ready,
                     stuck=lambda: watchdog.stuck_reason() if watchdog is not None else None)
    watchdog = Watchdog(
        app.state.threads,
        stuck_after=lifecycle.request_timeout,
        grace=lifecycle.stuck_grace,
        api_name=settings.api_name,
        ready=lambda: predictor.ready,
        shared=stuck_count,
        batcher=app.state.batcher,
    )
    config = uvicorn.Config(
        ListenerDispatch(app, app.state.admin_app, admin_sock.getsockname()[1]),
        log_config=None,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = RuntimeServer(config, api_name=settings.api_name, drain_timeout=lifecycle.drain_seconds,
                           watchdog=watchdog, threads=app.state.threads, batcher=app.state.batcher)
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
    try:
        server.run(sockets=[sock, admin_sock])
    finally:
        watchdog.stop()
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


def _worker_main(settings: Settings, project_dir: str, sock: socket.socket, admin_sock: socket.socket,
                 lifecycle: Lifecycle, index: int, processes: int, ready_count: Any, stuck_count: Any,
                 tracker_dir: Optional[str]) -> None:
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
        admin_sock,
        lifecycle=lifecycle,
        process_index=index,
        on_ready=on_ready,
        all_ready=lambda: ready_count.value >= processes,
        tracker_dir=tracker_dir,
        stuck_count=stuck_count,
    )
    os._exit(code)


def run(settings: Settings, project_dir: str, sock: socket.socket, admin_sock: socket.socket,
        lifecycle: Lifecycle = Lifecycle()) -> int:
    """Serves the API on ``sock`` (and health and metrics on ``admin_sock``) with ``processes_per_replica``
    processes. Returns the exit code."""
    processes = settings.processes_per_replica
    if processes == 1:
        return run_worker(settings, project_dir, sock, admin_sock, lifecycle=lifecycle)

    ctx = multiprocessing.get_context("fork")
    ready_count = ctx.Value("i", 0)
    stuck_count = ctx.Value("i", 0)
    # The tracker's and the custom metrics' figures of each process, for whichever process answers /metrics.
    tracker_dir = tempfile.mkdtemp(prefix="cortex-tracker-")
    workers = [
        ctx.Process(
            target=_worker_main,
            args=(settings, project_dir, sock, admin_sock, lifecycle, i, processes, ready_count, stuck_count,
                  tracker_dir),
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
    # After SIGTERM, the workers have drained or been stopped by then (their own deadline, then faulthandler's).
    kill_at: List[float] = []

    def stop_workers(alive: List[Any]) -> None:
        stopping.set()
        kill_at.append(time.monotonic() + lifecycle.drain_seconds + 2 * DRAIN_EXIT_MARGIN_SECONDS)
        for w in alive:
            if w.is_alive() and w.pid is not None:
                os.kill(w.pid, signal.SIGTERM)

    def stop(signum: int, frame: Any) -> None:
        if stopping.is_set():
            return
        logger.info("%s: received %s, stopping the workers", settings.api_name, signal.Signals(signum).name)
        stop_workers(workers)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    exit_code = 0
    alive = list(workers)
    while alive:
        timeout = None if not kill_at or kill_at[0] == float("inf") else max(0.0, kill_at[0] - time.monotonic())
        ready = multiprocessing.connection.wait([w.sentinel for w in alive], timeout)
        if not ready and kill_at and time.monotonic() >= kill_at[0]:
            for w in alive:
                if w.is_alive() and w.pid is not None:
                    logger.error("%s: %s (pid %d) is still running past the drain deadline: killing it",
                                 settings.api_name, w.name, w.pid)
                    os.kill(w.pid, signal.SIGKILL)
            kill_at[0] = float("inf")
        for w in [w for w in alive if w.sentinel in ready]:
            w.join()
            alive.remove(w)
            if not stopping.is_set():
                code = w.exitcode if w.exitcode and w.exitcode > 0 else 1  # killed (e.g. OOM): 1
                logger.error("%s: %s (pid %d) exited with code %s: stopping the others", settings.api_name,
                             w.name, w.pid, w.exitcode)
                exit_code = exit_code or code
                stop_workers(alive)
            elif w.exitcode not in (0, None) and exit_code == 0 and w.exitcode != -signal.SIGTERM:
                exit_code = w.exitcode if w.exitcode > 0 else 1
    sock.close()
    admin_sock.close()
    if tracker_dir is not None:
        shutil.rmtree(tracker_dir, ignore_errors=True)
    return exit_code
