"""``python -m cortex_runtime``: reads the settings, binds the port, serves until SIGTERM.

    python -m cortex_runtime [--settings FILE] [--project-dir DIR] [--host HOST] [--port PORT]

Defaults: ``$CORTEX_PREDICTOR_CONFIG`` (else /etc/cortex/predictor.json), ``$CORTEX_PROJECT_DIR``
(else /opt/cortex/project), ``$CORTEX_HOST`` (else 0.0.0.0), the settings' port (``--port 0``: any
free port; the log says which). The working directory becomes the project directory, as in Cortex,
so that predictors open their files by relative paths.
"""

import argparse
import logging
import os
import sys
from typing import List, Optional

from .config import load_settings, project_dir
from .errors import SettingsError
from .serve import bind, run

HOST_ENV = "CORTEX_HOST"
LOG_FORMAT = "%(asctime)s %(levelname)s [%(processName)s] %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr, force=True)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cortex_runtime", description="Serve a Cortex-style Python predictor.")
    parser.add_argument("--settings", help="the settings file (default: $CORTEX_PREDICTOR_CONFIG, else /etc/cortex/predictor.json)")
    parser.add_argument("--project-dir", help="the project directory (default: $CORTEX_PROJECT_DIR, else /opt/cortex/project)")
    parser.add_argument("--host", help=f"the address to listen on (default: ${HOST_ENV}, else 0.0.0.0)")
    parser.add_argument("--port", type=int, help="the port to listen on (default: the settings' port; 0: any free port)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
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
    os.chdir(project)
    host = args.host or os.environ.get(HOST_ENV) or "0.0.0.0"
    port = settings.port if args.port is None else args.port
    try:
        sock = bind(host, port)
    except OSError as e:
        logger.error("cannot listen on %s:%d, exiting: %s", host, port, e.strerror or e)
        return 1
    bound_host, bound_port = sock.getsockname()[:2]
    logger.info(
        "%s: serving a %s predictor (%s) on http://%s:%d with %d process(es) × %d thread(s)%s",
        settings.api_name, settings.type if settings.style == "class" else f"{settings.type} (kind: api, function-style)",
        settings.path or "the model alone", bound_host, bound_port, settings.processes_per_replica,
        settings.threads_per_process,
        "" if settings.server_side_batching is None else
        f", batching up to {settings.server_side_batching.max_batch_size} requests "
        f"or {settings.server_side_batching.batch_interval_seconds}s",
    )
    return run(settings, project, sock)


if __name__ == "__main__":
    sys.exit(main())
