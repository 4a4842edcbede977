"""Starting, probing and stopping `cairn server` and `mlflow server` processes (and a PostgreSQL cluster)."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent
HEALTH_POLL_S = 0.01
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
GRACEFUL_TIMEOUT_S = 5

# Settings for the benchmark's PostgreSQL cluster: tests/pg_cluster.py turns crash safety off for speed;
# a benchmark "until durable" needs it on, as a real server would have it.
POSTGRES_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "128MB",
}

System = Literal["cairn", "mlflow"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A server started by `start_server`: its process, URL and log files."""

    system: System
    process: subprocess.Popen[bytes]
    url: str
    port: int
    spawned_at: float
    log_path: Path
    ready_s: float | None = None
    members: set[int] = field(default_factory=set)

    def tree(self) -> list[Any]:
        """The server's processes (psutil.Process): the one spawned and all its descendants."""
        import psutil

        try:
            root = psutil.Process(self.process.pid)
            found = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        self.members.update(p.pid for p in found)
        return found

    def stop(self) -> None:
        """SIGTERM the spawned process, wait; then end any of its descendants still running (by pid)."""
        import psutil

        self.tree()  # remember every descendant before the parent goes
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        left = []
        for pid in self.members - {self.process.pid}:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc = psutil.Process(pid)
                proc.terminate()
                left.append(proc)
        _, alive = psutil.wait_procs(left, timeout=STOP_TIMEOUT_S)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=STOP_TIMEOUT_S)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's combined stdout/stderr log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def server_command(system: System, backend_uri: str, artifacts: Path, port: int, workers: int) -> list[str]:
    """The command line starting one system's server on 127.0.0.1."""
    common = [
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if system == "cairn":
        return [str(BIN_DIR / "cairn"), "server", *common, "--graceful-timeout", str(GRACEFUL_TIMEOUT_S)]
    return [str(BIN_DIR / "mlflow"), "server", *common]


def spawn_server(
    system: System, backend_uri: str, artifacts: Path, log_dir: Path, workers: int = 2
) -> ServerProcess:
    """Start a server process (not waiting for it); its output goes to a log file in `log_dir`."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{system}-{port}.log"
    command = server_command(system, backend_uri, artifacts, port, workers)
    with log_path.open("wb") as log:
        spawned_at = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=log_dir
        )
    return ServerProcess(system, process, f"http://127.0.0.1:{port}", port, spawned_at, log_path)


def health_status(port: int, timeout: float = 2.0) -> int | None:
    """The HTTP status of GET /health, or None when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def wait_ready(server: ServerProcess, timeout: float = START_TIMEOUT_S) -> float:
    """Poll /health until it answers 200; return seconds from spawning. Raises if the server dies."""
    deadline = server.spawned_at + timeout
    while time.perf_counter() < deadline:
        if health_status(server.port) == 200:
            server.ready_s = time.perf_counter() - server.spawned_at
            return server.ready_s
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.system} server exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        time.sleep(HEALTH_POLL_S)
    server.stop()
    raise RuntimeError(f"{server.system} server not healthy within {timeout:.0f} s:\n{server.log_tail()}")


@contextlib.contextmanager
def running_server(
    system: System, backend_uri: str, artifacts: Path, log_dir: Path, workers: int = 2
) -> Iterator[ServerProcess]:
    """A started, healthy server for the `with` block; stopped afterwards whatever happens."""
    server = spawn_server(system, backend_uri, artifacts, log_dir, workers)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


def tree_memory(server: ServerProcess) -> dict[str, Any]:
    """Memory of the server's process tree: summed RSS and PSS (PSS counts shared pages once), per process."""
    import psutil

    total_rss = total_pss = 0
    processes = []
    for proc in server.tree():
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = proc.memory_full_info()
            pss = int(getattr(info, "pss", 0))
            total_rss += info.rss
            total_pss += pss
            processes.append(
                {"pid": proc.pid, "cmd": " ".join(proc.cmdline()[:3]), "rss": info.rss, "pss": pss}
            )
    return {
        "processes": len(processes),
        "rss_mib": total_rss / 2**20,
        "pss_mib": total_pss / 2**20,
        "per_process": processes,
    }


def load_pg_cluster_module() -> Any:
    """tests/pg_cluster.py, imported by path (the tests folder is not a package)."""
    path = REPO_ROOT / "tests" / "pg_cluster.py"
    spec = importlib.util.spec_from_file_location("cairn_bench_pg_cluster", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def postgres_cluster(base_dir: Path) -> Iterator[Any]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 with fsync and synchronous commit on; stopped after."""
    pg = load_pg_cluster_module()
    if not pg.pg_tools_available():
        raise RuntimeError("initdb / pg_ctl not found on PATH: PostgreSQL benchmarks cannot run")
    cluster = pg.PostgresCluster(base_dir, settings=POSTGRES_SETTINGS)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def mlflow_http_environment() -> None:
    """MLflow client settings for talking to a server in a benchmark.

    It fails fast on a server error instead of retrying for minutes, and does not print run URLs to stdout
    (which carries the benchmark's JSON; printing them also costs an extra get_run per set_terminated).
    """
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
