"""A 2 GB artifact round-trips through a server process whose memory stays flat."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from cairn.server.config import ServerConfig

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
CHUNK = 1024 * 1024
TOTAL_CHUNKS = 2048
GROWTH_LIMIT = 100 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[str, psutil.Process, Path]]:
    """`python -m uvicorn` serving Cairn in its own process: (url, process, artifact folder)."""
    dest = tmp_path / "dest"
    config = ServerConfig(backend_store_uri=str(tmp_path / "store"), artifacts_destination=str(dest))
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "cairn.server.app:create_app_from_env", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(command, env={**os.environ, **config.to_env()}, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc)
        yield url, psutil.Process(proc.pid), dest
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _content() -> Iterator[bytes]:
    """2 GiB made of 1 MiB chunks that all differ, produced one chunk at a time."""
    block = bytearray(hashlib.sha256(b"seed").digest() * (CHUNK // 32))
    for index in range(TOTAL_CHUNKS):
        block[:8] = index.to_bytes(8, "big")
        yield bytes(block)


class _PeakRss:
    """Samples a process's resident memory in a background thread and keeps the largest value."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)


@pytest.mark.slow
def test_two_gigabytes_round_trip_with_flat_server_memory(
    server_process: tuple[str, psutil.Process, Path],
) -> None:
    url, process, dest = server_process
    timeout = httpx.Timeout(600.0, connect=30.0)
    with httpx.Client(timeout=timeout) as http:
        # Warm up: the first transfer imports and allocates what every later one reuses.
        assert http.put(f"{url}{PROXY}/warm/up.bin", content=b"w" * CHUNK).status_code == 200
        assert http.get(f"{url}{PROXY}/warm/up.bin").content == b"w" * CHUNK
        before = process.memory_info().rss

        sent = hashlib.sha256()
        size = TOTAL_CHUNKS * CHUNK

        def body() -> Iterator[bytes]:
            for chunk in _content():
                sent.update(chunk)
                yield chunk

        with _PeakRss(process) as upload_peak:
            put = http.put(
                f"{url}{PROXY}/big/two-gb.bin", content=body(), headers={"Content-Length": str(size)}
            )
        assert put.status_code == 200, put.text
        assert (dest / "big" / "two-gb.bin").stat().st_size == size

        received = hashlib.sha256()
        count = 0
        with _PeakRss(process) as download_peak, http.stream("GET", f"{url}{PROXY}/big/two-gb.bin") as got:
            assert got.status_code == 200
            for chunk in got.iter_raw(CHUNK):
                received.update(chunk)
                count += len(chunk)
        after = process.memory_info().rss

    assert count == size
    assert received.hexdigest() == sent.hexdigest()
    growth = max(upload_peak.peak, download_peak.peak, after) - before
    assert growth < GROWTH_LIMIT, f"server memory grew by {growth / 1024**2:.0f} MiB"
