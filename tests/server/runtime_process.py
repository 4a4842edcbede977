"""`cairn server` / `cairn ui` as a real subprocess, for tests of the server as teams run it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TypeVar

import httpx
import psutil

T = TypeVar("T")
START_DEADLINE_S = 90.0
_SERVING = re.compile(r"serving (http://\S+:\d+) with")


def cairn_command() -> list[str]:
    """The installed `cairn` console script next to this interpreter, else `python -m cairn.cli`."""
    script = Path(sys.executable).parent / "cairn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cairn.cli"]


class ServerProcess:
    """A `cairn` server subprocess on a free port; its stdout and stderr are collected line by line."""

    def __init__(self, args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        environment = dict(os.environ if env is None else env)
        environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.process = subprocess.Popen(
            [*cairn_command(), *args, "--port", "0"],
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []
        for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            assert stream is not None
            reader = threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
            reader.start()
            self._readers.append(reader)
        self.url = ""

    def _collect(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            with self._lock:
                lines.append(line.rstrip("\n"))

    def wait_ready(self) -> ServerProcess:
        """Wait for the "serving" line, then for /health to answer 200."""
        match = self.wait_for(lambda: next(filter(None, map(_SERVING.search, self.stderr_lines())), None))
        self.url = match.group(1)
        self.wait_for(self._healthy)
        return self

    def _healthy(self) -> bool | None:
        try:
            return httpx.get(f"{self.url}/health", timeout=5).status_code == 200 or None
        except httpx.HTTPError:
            return None

    def wait_for(self, probe: Callable[[], T | None]) -> T:
        """Poll `probe` until it returns something other than None; fail with the server's stderr if not."""
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            found = probe()
            if found is not None:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError("server condition not reached; stderr:\n" + "\n".join(self.stderr_lines()))

    def stdout_lines(self) -> list[str]:
        """Lines written to stdout so far."""
        with self._lock:
            return list(self.stdout)

    def stderr_lines(self) -> list[str]:
        """Lines written to stderr so far."""
        with self._lock:
            return list(self.stderr)

    def tree_rss(self) -> int:
        """Resident memory of the server and all its child processes, in bytes."""
        root = psutil.Process(self.process.pid)
        return sum(proc.memory_info().rss for proc in [root, *root.children(recursive=True)])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig` and return the exit status (killing the process if it does not exit)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            self.close()

    def wait_exit(self, timeout: float = 60) -> int:
        """Wait for the process to end on its own (after a signal already sent); return its exit status.

        A second signal would race the interpreter's teardown, which restores default signal handlers:
        a SIGTERM arriving then kills the process (status -15) however cleanly it was shutting down.
        """
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Collect the last output lines and close the pipes (the process must have exited)."""
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample; 0 when the series does not exist yet."""
    for line in metrics.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0
