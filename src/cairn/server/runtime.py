"""Running the server for real: uvicorn workers over the app factory, shared metrics, graceful shutdown.

The configuration reaches the workers as `CAIRN_SERVER_*` environment variables (`ServerConfig.to_env`).
This module imports only uvicorn and the configuration: the app, its store and their dependencies load in
the workers.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE

import cairn
from cairn.errors import InvalidArgument
from cairn.server.config import ServerConfig

APP_FACTORY = "cairn.server.app:create_app_from_env"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ACCESS_LOGGER = "cairn.server.access"
DEFAULT_GRACEFUL_TIMEOUT_S = 30.0

log = logging.getLogger("cairn.server")


@dataclass(frozen=True)
class RuntimeOptions:
    """How the server process runs.

    Attributes:
        host: Interface to listen on.
        port: TCP port; 0 picks a free one (the log line "serving http://..." names it).
        workers: Worker processes sharing the socket; each has its own store connection pool.
        graceful_timeout: Seconds in-flight requests get to finish after SIGTERM/SIGINT.
        log_level: uvicorn's log level for its own messages.
    """

    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    graceful_timeout: float = DEFAULT_GRACEFUL_TIMEOUT_S
    log_level: str = "info"

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise InvalidArgument(f"workers must be at least 1, got {self.workers}")
        if not 0 <= self.port <= 65535:
            raise InvalidArgument(f"port must be between 0 and 65535, got {self.port}")
        if self.graceful_timeout < 0:
            raise InvalidArgument(f"graceful_timeout must not be negative, got {self.graceful_timeout}")


def log_config(log_level: str = "info") -> dict[str, Any]:
    """Logging: uvicorn's setup plus JSON access lines on stdout and other Cairn logs on stderr."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json_line"] = {"format": "%(message)s"}
    config["handlers"]["cairn_access"] = {
        "class": "logging.StreamHandler",
        "formatter": "json_line",
        "stream": "ext://sys.stdout",
    }
    config["loggers"][ACCESS_LOGGER] = {"handlers": ["cairn_access"], "level": "INFO", "propagate": False}
    config["loggers"]["cairn"] = {"handlers": ["default"], "level": log_level.upper(), "propagate": False}
    return config


def run_server(config: ServerConfig, options: RuntimeOptions) -> int:
    """Serve until SIGTERM or SIGINT, then let in-flight requests finish.

    Returns:
        The exit status: 0 after a clean shutdown, 3 when the app could not start (reason in the log).
    """
    os.environ.update(config.to_env())
    with _metrics_dir(options.workers):
        uvicorn_config = uvicorn.Config(
            APP_FACTORY,
            factory=True,
            host=options.host,
            port=options.port,
            workers=options.workers,
            log_config=log_config(options.log_level),
            log_level=options.log_level,
            access_log=False,
            server_header=False,
            proxy_headers=True,
            lifespan="on",
            ws="none",
            timeout_graceful_shutdown=int(options.graceful_timeout),
        )
        sock = uvicorn_config.bind_socket()
        address = sock.getsockname()
        log.info(
            "Cairn %s serving http://%s:%d with %d worker(s)",
            cairn.__version__,
            _url_host(options.host),
            address[1],
            options.workers,
        )
        try:
            if options.workers == 1:
                return _run_single(uvicorn_config, sock)
            return _run_workers(uvicorn_config, sock)
        finally:
            sock.close()


def _run_single(config: uvicorn.Config, sock: socket.socket) -> int:
    """One process: load the app here (errors surface at once) and serve."""
    config.load()
    server = uvicorn.Server(config)
    with _signals_end_cleanly():
        server.run(sockets=[sock])
    return 0 if server.started else STARTUP_FAILURE


def _run_workers(config: uvicorn.Config, sock: socket.socket) -> int:
    """Several processes under uvicorn's supervisor; stops (status 3) if a worker fails to start."""
    from uvicorn.supervisors import Multiprocess

    supervisor = Multiprocess(config, sockets=[sock])
    supervisor.run()
    failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


@contextlib.contextmanager
def _signals_end_cleanly() -> Iterator[None]:
    """Make SIGTERM/SIGINT a clean exit (status 0) once uvicorn has shut down gracefully.

    uvicorn handles the signal while serving and re-raises it afterwards; this handler receives that
    re-raised signal instead of the default one that would kill the process.
    """
    received: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    """With several workers, give them a fresh shared Prometheus directory, removed at exit.

    A `PROMETHEUS_MULTIPROC_DIR` already set by the operator is used as it is (wipe it between runs).
    """
    if workers == 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix="cairn-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
