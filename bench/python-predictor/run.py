#!/usr/bin/env python3
"""Benchmarks of the Python predictor runtime (images/python-predictor/); figures in README.md here.

  /usr/bin/python3 bench/python-predictor/run.py [--duration 5] [--rounds 3] [--only overhead|batching]

(a) overhead: a trivial predictor through the runtime vs bare Starlette apps under uvicorn doing
    the same work, one process each (processes_per_replica 1, threads_per_process 1; uvicorn, one
    worker); throughput ratio runtime / bare. A ``def predict`` runs in a thread (a blocking model must
    not stall the event loop), so it is compared with a bare endpoint that calls its model in
    Starlette's thread pool, and with one that does everything on the event loop; an ``async def
    predict`` runs on the event loop, like the latter.
(b) batching: examples/batching at 32 concurrent connections, with its server_side_batching and
    without it (the same cortex.yaml otherwise); throughput ratio.

The load comes from wrk (Debian's ``wrk``) when installed, else from a small Python client (which
takes CPU from the servers: its figures are lower). Everything listens on 127.0.0.1 only, on free
ports; every server is stopped at the end. Runs and rounds alternate between the servers compared,
so that a neighbour's load on the machine hits both; the median of the rounds is printed.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNTIME_DIR = ROOT / "images" / "python-predictor"
PYTHON = sys.executable

# Renders a cortex.yaml's predictor settings exactly as the chart's ConfigMap holds them.
RENDER_SETTINGS_JS = (
    "const {loadConfigFile}=require('./dist/lib/config');"
    "const pc=require('./dist/constructs/predictor-config');"
    "const out={};for(const a of loadConfigFile(process.argv[1]).apis){out[a.name]=pc.predictorSettings(a)}"
    "process.stdout.write(JSON.stringify(out))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_post(port: int, body: bytes, timeout: float = 5.0) -> Tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.split(b"\r\n\r\n", 1)[-1]


class Server:
    def __init__(self, name: str, args: List[str], env: Dict[str, str], port: int, workdir: Path) -> None:
        self.name, self.port = name, port
        self.log = workdir / f"{name}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT))

    def wait_ready(self, body: bytes, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                status, response = http_post(self.port, body)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.name} was not ready after {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_runtime(name: str, settings: dict, project: Path, workdir: Path) -> Server:
    path = workdir / f"{name}.json"
    path.write_text(json.dumps({**settings, "log_level": "warning"}))
    port = free_port()
    return Server(
        name,
        [PYTHON, "-m", "cortex_runtime", "--settings", str(path), "--project-dir", str(project), "--host", "127.0.0.1",
         "--port", str(port), "--admin-port", "0"],
        {"PYTHONPATH": str(RUNTIME_DIR), "PYTHONDONTWRITEBYTECODE": "1"},
        port,
        workdir,
    )


def start_bare(name: str, app: str, workdir: Path) -> Server:
    port = free_port()
    return Server(
        name,
        [PYTHON, "-m", "uvicorn", f"bare_app:{app}", "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--no-access-log", "--log-level", "warning"],
        {"PYTHONDONTWRITEBYTECODE": "1"},
        port,
        workdir,
    )


# -- load -----------------------------------------------------------------------------------------

def load_wrk(port: int, body: bytes, connections: int, seconds: float, workdir: Path) -> Tuple[float, float, int]:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
    )
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "30s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    p50_ms = float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan")
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return rps, p50_ms, errors


def load_python(port: int, body: bytes, connections: int, seconds: float, workdir: Path) -> Tuple[float, float, int]:
    """Keep-alive HTTP/1.1 clients in threads: a fallback when wrk is missing."""
    request = (b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
               % (len(body), body))
    latencies: List[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        mine: List[float] = []
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = s.makefile("rb")
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                s.sendall(request)
                status = reader.readline()
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                reader.read(length)
                mine.append(time.perf_counter() - start)
                if b" 200 " not in status:
                    with lock:
                        errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / seconds, statistics.median(latencies) * 1e3 if latencies else float("nan"), errors[0]


def measure(servers: List[Server], body: bytes, connections: int, seconds: float, rounds: int,
            workdir: Path) -> Dict[str, Tuple[float, float]]:
    load = load_wrk if shutil.which("wrk") else load_python
    for server in servers:  # warm up: first requests, lazy imports, BLAS threads
        load(server.port, body, connections, 1, workdir)
    results: Dict[str, List[Tuple[float, float]]] = {s.name: [] for s in servers}
    for _ in range(rounds):
        for server in servers:
            rps, p50, errors = load(server.port, body, connections, seconds, workdir)
            if errors:
                raise SystemExit(f"{server.name}: {errors} failed requests:\n{server.log.read_text()[-3000:]}")
            results[server.name].append((rps, p50))
    return {name: (statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs))
            for name, runs in results.items()}


# -- the benchmarks -------------------------------------------------------------------------------

TRIVIAL_SETTINGS = {
    "version": 1, "api_name": "trivial", "port": 8080, "type": "python", "path": "predictor.py", "config": {},
    "models": None, "server_side_batching": None, "processes_per_replica": 1, "threads_per_process": 1,
    "log_level": "info", "python_path": None, "signature_key": None, "tracker": None,
    "dependencies": {"pip": "requirements.txt", "conda": "conda-packages.txt", "shell": "dependencies.sh"},
    "compute": {"cpu": "1", "mem": None, "gpu": 0, "inf": 0},
}


def bench_overhead(args: argparse.Namespace, workdir: Path) -> None:
    body = json.dumps({"features": [5.1, 3.5, 1.4, 0.2], "id": "request-1"}).encode()
    servers = [
        start_runtime("runtime", TRIVIAL_SETTINGS, HERE / "trivial", workdir),
        start_bare("bare-sync", "sync_app", workdir),
        start_runtime("runtime-async", TRIVIAL_SETTINGS, HERE / "trivial-async", workdir),
        start_bare("bare-async", "async_app", workdir),
    ]
    try:
        for s in servers:
            s.wait_ready(body)
        results = measure(servers, body, args.connections, args.duration, args.rounds, workdir)
    finally:
        for s in servers:
            s.stop()
    print(f"(a) runtime overhead: trivial predictor, 1 process, 1 thread; {args.connections} connections, "
          f"{args.rounds} × {args.duration}s, median")
    for name, (rps, p50) in results.items():
        print(f"    {name:<13} {rps:>9.0f} req/s   p50 {p50:6.2f} ms")
    runtime, bare_sync = results["runtime"][0], results["bare-sync"][0]
    runtime_async, bare_async = results["runtime-async"][0], results["bare-async"][0]
    print(f"    ratio runtime / bare, def predict vs the model in Starlette's thread pool: {runtime / bare_sync:.2f}")
    print(f"    ratio runtime / bare, def predict vs everything on the event loop:        {runtime / bare_async:.2f}")
    print(f"    ratio runtime / bare, async def predict vs everything on the event loop:  {runtime_async / bare_async:.2f}")


def render_settings(cortex_yaml: Path) -> Dict[str, dict]:
    if not (ROOT / "dist" / "constructs" / "predictor-config.js").exists():
        raise SystemExit("dist/ is missing: run `npm run build` first (the settings are rendered as the chart renders them)")
    out = subprocess.run(["node", "-e", RENDER_SETTINGS_JS, str(cortex_yaml)], cwd=str(ROOT), capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def bench_batching(args: argparse.Namespace, workdir: Path) -> None:
    example = ROOT / "examples" / "batching"
    settings = render_settings(example / "cortex.yaml")["batch-rnn"]
    body = (example / "sample.json").read_bytes()
    variants = {
        "batching": settings,
        "no-batching": {**settings, "server_side_batching": None},
        "no-batching-1-thread": {**settings, "server_side_batching": None, "threads_per_process": 1},
    }
    servers = [start_runtime(name, s, example, workdir) for name, s in variants.items()]
    try:
        for s in servers:
            s.wait_ready(body)
        results = measure(servers, body, 32, args.duration, args.rounds, workdir)
    finally:
        for s in servers:
            s.stop()
    batching = settings["server_side_batching"]
    print(f"(b) server-side batching: examples/batching (max_batch_size {batching['max_batch_size']}, "
          f"batch_interval {batching['batch_interval_seconds']}s, threads_per_process {settings['threads_per_process']}); "
          f"32 connections, {args.rounds} × {args.duration}s, median")
    for name, (rps, p50) in results.items():
        print(f"    {name:<21} {rps:>8.0f} req/s   p50 {p50:7.2f} ms")
    best_without = max(results["no-batching"][0], results["no-batching-1-thread"][0])
    print(f"    ratio with / without batching (same threads): {results['batching'][0] / results['no-batching'][0]:.2f}")
    print(f"    ratio with / the best without: {results['batching'][0] / best_without:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server, alternating (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="connections for (a) (default 8)")
    parser.add_argument("--only", choices=["overhead", "batching"])
    args = parser.parse_args()
    print(f"load generator: {'wrk' if shutil.which('wrk') else 'Python threads (install wrk for sharper figures)'}; "
          f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="cortex-bench-") as tmp:
        if args.only in (None, "overhead"):
            bench_overhead(args, Path(tmp))
        if args.only in (None, "batching"):
            bench_batching(args, Path(tmp))


if __name__ == "__main__":
    main()
