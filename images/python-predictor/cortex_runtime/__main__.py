"""``python -m cortex_runtime``: reads the settings, binds the ports, serves until SIGTERM.

    python -m cortex_runtime [--settings FILE] [--project-dir DIR] [--host HOST] [--port PORT]
        [--admin-port PORT] [--request-timeout SECONDS] [--stuck-grace SECONDS] [--drain-timeout SECONDS]

Defaults: ``$CORTEX_PREDICTOR_CONFIG`` (else /etc/cortex/predictor.json), ``$CORTEX_PROJECT_DIR``
(else /opt/cortex/project), ``$CORTEX_HOST`` (else 127.0.0.1: in a pod, only the proxy in the same pod
talks to the runtime), the settings' port (``--port 0``: any free port; the log says which),
``$CORTEX_ADMIN_PORT`` (else 8081) for ``/healthz`` and ``/metrics``; the watchdog's and the drain's
timings from ``$CORTEX_REQUEST_TIMEOUT`` (else 600), ``$CORTEX_STUCK_GRACE`` (else 30) and
``$CORTEX_DRAIN_TIMEOUT`` (else the request timeout), in seconds (serve.py, watchdog.py). The working
directory becomes the project directory, as in Cortex, so that predictors open their files by relative paths.
The project's ``.env`` (env_file.py) goes over the environment, as Cortex's bootloader sourced it: the runtime
restarts itself with it (exec: same PID), or exits 2 naming each line it cannot read.
"""

import argparse
import logging
import os
import sys
import tempfile
from typing import List, Optional, Tuple

from .config import load_settings, project_dir
from .env_file import ENV_FILE_NAME, EnvFile, EnvFileError, read_env_file
from .errors import SettingsError
from .serve import Lifecycle, bind, run

HOST_ENV = "CORTEX_HOST"
ADMIN_PORT_ENV = "CORTEX_ADMIN_PORT"
REQUEST_TIMEOUT_ENV = "CORTEX_REQUEST_TIMEOUT"
STUCK_GRACE_ENV = "CORTEX_STUCK_GRACE"
DRAIN_TIMEOUT_ENV = "CORTEX_DRAIN_TIMEOUT"
#: Set (to the file's path) in the process restarted with the project's .env applied, so that it does not apply it again.
ENV_FILE_APPLIED_ENV = "CORTEX_ENV_FILE_APPLIED"
DEFAULT_HOST = "127.0.0.1"
#: Where /healthz and /metrics are served by default (the API's port is the settings' ``port``, 8080).
DEFAULT_ADMIN_PORT = 8081
LOG_FORMAT = "%(asctime)s %(levelname)s [%(processName)s] %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr, force=True)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cortex_runtime", description="Serve a Cortex-style Python predictor.")
    parser.add_argument("--settings", help="the settings file (default: $CORTEX_PREDICTOR_CONFIG, else /etc/cortex/predictor.json)")
    parser.add_argument("--project-dir", help="the project directory (default: $CORTEX_PROJECT_DIR, else /opt/cortex/project)")
    parser.add_argument("--host", help=f"the address both ports listen on (default: ${HOST_ENV}, else {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, help="the API's port, for POST / (default: the settings' port; 0: any free port)")
    parser.add_argument("--admin-port", help=f"the port of /healthz and /metrics (default: ${ADMIN_PORT_ENV}, else "
                                             f"{DEFAULT_ADMIN_PORT}; 0: any free port)")
    parser.add_argument("--request-timeout", help=f"seconds: networking.timeout; every predict thread busy in one call "
                                                  f"longer than this is stuck (default: ${REQUEST_TIMEOUT_ENV}, else 600)")
    parser.add_argument("--stuck-grace", help=f"seconds a stuck process stays, not ready, before it exits (default: "
                                              f"${STUCK_GRACE_ENV}, else 30)")
    parser.add_argument("--drain-timeout", help=f"seconds requests in flight may take to finish after SIGTERM (default: "
                                                f"${DRAIN_TIMEOUT_ENV}, else the request timeout)")
    return parser.parse_args(argv)


class UsageError(ValueError):
    """A flag or environment variable with an unusable value."""


def _option(flag: Optional[str], env: str) -> Optional[str]:
    if flag is not None:
        return flag
    value = os.environ.get(env, "").strip()
    return value or None


def _port(text: Optional[str], name: str, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise UsageError(f"{name} must be an integer from 0 to 65535, got {text!r}")
    return value


def _seconds(text: Optional[str], name: str, default: Optional[float], minimum: float) -> Optional[float]:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value >= minimum and value < 10**7):
        raise UsageError(f"{name} must be a number of seconds >= {minimum:g}, got {text!r}")
    return value


def lifecycle_and_admin_port(args: argparse.Namespace) -> Tuple[Lifecycle, int]:
    """The watchdog's and the drain's timings, and the admin port, from flags, else the environment."""
    admin_port = _port(_option(args.admin_port, ADMIN_PORT_ENV), f"--admin-port (${ADMIN_PORT_ENV})",
                       DEFAULT_ADMIN_PORT)
    request_timeout = _seconds(_option(args.request_timeout, REQUEST_TIMEOUT_ENV),
                               f"--request-timeout (${REQUEST_TIMEOUT_ENV})", 600.0, 0.001)
    stuck_grace = _seconds(_option(args.stuck_grace, STUCK_GRACE_ENV),
                           f"--stuck-grace (${STUCK_GRACE_ENV})", 30.0, 0.0)
    drain_timeout = _seconds(_option(args.drain_timeout, DRAIN_TIMEOUT_ENV),
                             f"--drain-timeout (${DRAIN_TIMEOUT_ENV})", None, 0.0)
    assert request_timeout is not None and stuck_grace is not None
    return Lifecycle(request_timeout=request_timeout, stuck_grace=stuck_grace, drain_timeout=drain_timeout), admin_port


def apply_env_file(env_file: EnvFile, api_name: str, logger: logging.Logger) -> None:
    """Puts the project's .env variables in the environment, over the container's (Cortex's precedence).

    The runtime restarts itself (exec, same PID) with them, so that they hold from the interpreter's start, as
    when Cortex sourced the file before starting Python: PYTHONPATH, LD_LIBRARY_PATH and the like take effect.
    """
    names = [name for name, _ in env_file.variables]
    overridden = [name for name, value in env_file.variables if name in os.environ and os.environ[name] != value]
    logger.info("%s: %d variable(s) from %s: %s%s", api_name, len(names), env_file.path, ", ".join(names) or "none",
                f" (over the environment's {', '.join(overridden)})" if overridden else "")
    if all(os.environ.get(name) == value for name, value in env_file.variables):
        return
    env = {**os.environ, **dict(env_file.variables), ENV_FILE_APPLIED_ENV: env_file.path}
    if "PYTHONPATH" in dict(env_file.variables):
        # Relative entries start at the project, where Cortex started Python (the runtime moves there only
        # later); and whatever the file sets, the restarted interpreter must still find the runtime.
        project = os.path.dirname(env_file.path)
        entries = [os.path.join(project, e) for e in env["PYTHONPATH"].split(os.pathsep) if e]
        runtime_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if runtime_root not in (os.path.abspath(e) for e in entries):
            entries.insert(0, runtime_root)
        env["PYTHONPATH"] = os.pathsep.join(entries)
    for handler in logging.getLogger().handlers:
        handler.flush()
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    except OSError as e:
        logger.warning("%s: cannot restart the runtime with %s applied (%s): applying it to this process only, "
                       "where the variables the interpreter reads at its start (PYTHONPATH...) come too late",
                       api_name, env_file.path, e.strerror or e)
        os.environ.update(env)
        tempfile.tempdir = None  # so that a TMPDIR from the file counts


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        lifecycle, admin_port = lifecycle_and_admin_port(args)
    except UsageError as e:
        configure_logging("info")
        logging.getLogger("cortex_runtime").error("%s, exiting", e)
        return 2
    try:
        settings = load_settings(args.settings)
    except SettingsError as e:
        configure_logging("info")
        logging.getLogger("cortex_runtime").error("unusable predictor settings, exiting:\n%s", e)
        return 2
    configure_logging(settings.log_level)
    logger = logging.getLogger("cortex_runtime")
    if settings.unknown_keys:
        logger.warning("settings: ignoring keys this runtime does not know: %s", ", ".join(settings.unknown_keys))
    project = os.path.abspath(args.project_dir) if args.project_dir else project_dir()
    if not os.path.isdir(project):
        logger.error("the project directory %s does not exist, exiting (set CORTEX_PROJECT_DIR)", project)
        return 2
    env_path = os.path.join(project, ENV_FILE_NAME)
    if os.environ.get(ENV_FILE_APPLIED_ENV) != env_path:
        try:
            env_file = read_env_file(project, os.environ)
        except EnvFileError as e:
            logger.error("%s: unusable %s, exiting:\n%s", settings.api_name, env_path, e)
            return 2
        if env_file is not None:
            apply_env_file(env_file, settings.api_name, logger)
    os.chdir(project)
    host = args.host or os.environ.get(HOST_ENV) or DEFAULT_HOST
    port = settings.port if args.port is None else args.port
    if port != 0 and port == admin_port:
        logger.error("the API's port and the admin port (--admin-port, $%s) are both %d, exiting: they must differ",
                     ADMIN_PORT_ENV, port)
        return 2
    try:
        sock = bind(host, port)
    except OSError as e:
        logger.error("cannot listen on %s:%d, exiting: %s", host, port, e.strerror or e)
        return 1
    try:
        admin_sock = bind(host, admin_port)
    except OSError as e:
        sock.close()
        logger.error("cannot listen on %s:%d (the admin port), exiting: %s", host, admin_port, e.strerror or e)
        return 1
    bound_host, bound_port = sock.getsockname()[:2]
    admin_bound_port = admin_sock.getsockname()[1]
    logger.info(
        "%s: serving %s %s predictor (%s) on http://%s:%d (health and metrics on http://%s:%d) with %d process(es) "
        "× %d thread(s)%s; a predict call is stuck after %g s, a SIGTERM drains for at most %g s",
        settings.api_name, "an" if settings.type == "onnx" else "a", settings.type if settings.style == "class" else f"{settings.type} (kind: api, function-style)",
        settings.path or "the model alone", bound_host, bound_port, bound_host, admin_bound_port,
        settings.processes_per_replica, settings.threads_per_process,
        "" if settings.server_side_batching is None else
        f", batching up to {settings.server_side_batching.max_batch_size} requests "
        f"or {settings.server_side_batching.batch_interval_seconds}s",
        lifecycle.request_timeout, lifecycle.drain_seconds,
    )
    return run(settings, project, sock, admin_sock, lifecycle)


if __name__ == "__main__":
    sys.exit(main())
