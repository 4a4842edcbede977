"""The model server entrypoint as a real subprocess on a free port, run as a container would run it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

START_DEADLINE_S = 120.0
_SERVING = re.compile(r"serving (http://\S+:\d+)")


def entrypoint_command(python: str | Path, model_dir: Path) -> list[str]:
    """The container's command, run with `python`, on a free port."""
    return [str(python), "-m", "cairn.serving.entrypoint", "--model", str(model_dir), "--port", "0"]


class ModelServerProcess:
    """A model server subprocess (by default the entrypoint); stderr is collected line by line."""

    def __init__(self, python: str | Path, model_dir: Path, command: Sequence[str] | None = None) -> None:
        environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
        self.process = subprocess.Popen(
            list(command) if command is not None else entrypoint_command(python, model_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()
        self.url = ""

    def _collect(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self._lines.append(line.rstrip("\n"))

    def stderr_lines(self) -> list[str]:
        """Lines written to stderr so far."""
        with self._lock:
            return list(self._lines)

    def wait_ready(self) -> ModelServerProcess:
        """Wait for the "serving http://..." line, then for /ping to answer 200."""
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline and self.process.poll() is None:
            found = next(filter(None, map(_SERVING.search, self.stderr_lines())), None)
            if found is not None and self._pings(found.group(1)):
                self.url = found.group(1)
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError("the model server did not start; stderr:\n" + "\n".join(self.stderr_lines()))

    @staticmethod
    def _pings(url: str) -> bool:
        try:
            return httpx.get(f"{url}/ping", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int:
        """SIGTERM, then the exit status (the process is killed if it does not exit)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            self._reader.join(timeout=10)
            if self.process.stderr is not None:
                self.process.stderr.close()

    def __enter__(self) -> ModelServerProcess:
        return self.wait_ready()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
