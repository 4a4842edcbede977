"""Serving a model from the environment its lock describes: a cached virtual environment and a server in it.

`prepare_environment` builds a virtual environment from a package's lock (or reuses the one built before),
under a folder named for the lock's digest and the Python version. A build happens in a temporary folder that
is renamed into place only once complete, under a per-environment file lock, so two commands never build the
same environment at once and a failed build leaves nothing that looks reusable. `serve_in_environment` then
runs the model server with that environment's interpreter, forwarding stop signals to it.

Running this module (`<env>/bin/python -m cairn.serving.environment_launch`) is that server's side: it serves
the settings the parent wrote, as JSON, to `CAIRN_SERVING_SETTINGS`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from cairn.errors import CairnError
from cairn.models.environment_builder import (
    OutputSink,
    build_environment,
    cairn_install_spec,
    installable_requirements,
    venv_python,
    verified_spec,
)
from cairn.serving.entrypoint import SETTINGS_ENV, ServeSettings, serve_model

ENV_CACHE_ENV = "CAIRN_ENV_CACHE"
READY_FILE = "cairn-env.json"
"""Written into an environment just before it is renamed into place; without it, it is not reused."""
BUILD_PREFIX = ".build-"
_NOT_INHERITED = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "VIRTUAL_ENV")
_FORWARDED = {signal.SIGTERM: signal.SIGTERM, signal.SIGINT: signal.SIGINT, signal.SIGHUP: signal.SIGTERM}
"""Signal received -> signal sent to the server (a closed terminal stops the server cleanly)."""

Builder = Callable[[Path, Path, OutputSink | None], Path]
"""Builds an environment: (package folder, empty target folder, output sink) -> the target's interpreter."""


@dataclass(frozen=True)
class PreparedEnvironment:
    """A ready virtual environment for a model, and whether it was reused from the cache."""

    path: Path
    python: Path
    reused: bool


def default_env_root() -> Path:
    """`$CAIRN_ENV_CACHE`, else ~/.cache/cairn/envs (or under `$XDG_CACHE_HOME`)."""
    configured = os.environ.get(ENV_CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cairn" / "envs"


def environment_key(requirements: Sequence[str], install_spec: str, python_version: str | None = None) -> str:
    """The cache folder name of an environment: `py<major.minor>-<digest of the lock and Cairn's spec>`.

    The order of the lock's lines and repeated lines do not change the key; any other change does, and so
    does the requirement Cairn itself is installed from.
    """
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    lines = sorted({line.strip() for line in requirements if line.strip()})
    digest = hashlib.sha256("\n".join([*lines, "", install_spec]).encode()).hexdigest()
    return f"py{version}-{digest[:24]}"


@contextlib.contextmanager
def environment_lock(root: Path, key: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the exclusive lock of environment `key` under `root` (calling `on_wait` if it must wait)."""
    import fcntl  # POSIX only; imported here so that the rest of this module loads everywhere

    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{key}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_environment(
    model_dir: str | Path,
    *,
    env_root: str | Path | None = None,
    builder: Builder | None = None,
    on_output: OutputSink | None = None,
) -> PreparedEnvironment:
    """The virtual environment for the package in `model_dir`: reused when cached, else built and cached.

    Args:
        model_dir: Folder of the model package (verified against its digests first).
        env_root: Folder of cached environments (default: `default_env_root()`).
        builder: Builds one environment (default: `build_environment`, uv when on PATH else venv + pip).
        on_output: Called with progress lines and the installer's output.

    Returns:
        The environment, its interpreter, and whether it was reused.

    Raises:
        NotFound, InvalidArgument: The package is missing, or altered.
        CairnError: The build failed; the message carries the installer's last output.
    """
    spec = verified_spec(model_dir)
    requirements = installable_requirements(spec)
    install_spec = cairn_install_spec()
    key = environment_key(requirements, install_spec)
    root = Path(env_root or default_env_root()).expanduser().absolute()
    final = root / key
    say = on_output or (lambda _line: None)
    with environment_lock(root, key, on_wait=lambda: say(f"Waiting for another build of {final}")):
        if is_ready(final):
            return PreparedEnvironment(final, venv_python(final), reused=True)
        _remove_leftovers(root, key)
        say(f"Building the environment of {model_dir} at {final}")
        record = {"key": key, "requirements": requirements, "cairn": install_spec, "model": str(model_dir)}
        _build(Path(model_dir), final, builder or _build_with_installer, record, on_output)
    return PreparedEnvironment(final, venv_python(final), reused=False)


def is_ready(path: Path) -> bool:
    """Whether `path` holds a completed environment whose interpreter is still there."""
    return (path / READY_FILE).is_file() and venv_python(path).exists()


def _build_with_installer(model_dir: Path, target: Path, on_output: OutputSink | None) -> Path:
    return build_environment(model_dir, target, on_output=on_output)


def _remove_leftovers(root: Path, key: str) -> None:
    """Remove what earlier builds of `key` left (killed mid-build, or an environment that broke)."""
    for stale in root.glob(f"{BUILD_PREFIX}{key}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    final = root / key
    if final.is_symlink() or final.is_file():
        final.unlink()
    elif final.exists():
        shutil.rmtree(final)


def _build(
    model_dir: Path, final: Path, builder: Builder, record: dict[str, Any], on_output: OutputSink | None
) -> None:
    """Build into a scratch folder next to `final`, mark it ready, and rename it into place."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{BUILD_PREFIX}{final.name}-", dir=final.parent))
    try:
        staged = scratch / "env"
        try:
            builder(model_dir, staged, on_output)
        except CairnError as error:
            raise CairnError(
                f"cannot build the environment of {model_dir} from its lock: {error.message}"
            ) from error
        _repoint_paths(staged, final)
        (staged / READY_FILE).write_text(json.dumps(record, indent=2) + "\n")
        staged.rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _repoint_paths(staged: Path, final: Path) -> None:
    """Rewrite the scratch path to the final one in the environment's scripts and `pyvenv.cfg`.

    Script shebang lines and activation scripts name the folder the environment was built in.
    """
    old, new = str(staged).encode(), str(final).encode()
    bin_dir = venv_python(staged).parent
    candidates = [*bin_dir.iterdir(), staged / "pyvenv.cfg"]
    for path in candidates:
        if path.is_symlink() or not path.is_file():
            continue
        content = path.read_bytes()
        if old in content:
            path.write_bytes(content.replace(old, new))


def serve_options(settings: ServeSettings) -> dict[str, Any]:
    """The settings as keyword arguments of `serve_model` (all but the package folder)."""
    return {
        field.name: getattr(settings, field.name)
        for field in dataclasses.fields(settings)
        if field.name != "model_dir"
    }


def server_command(python: Path, host: str, port: int, workers: int) -> list[str]:
    """The command that serves with `python`; the settings travel in `CAIRN_SERVING_SETTINGS`."""
    return [str(python), "-m", __name__, "--host", host, "--port", str(port), "--workers", str(workers)]


def server_environment(prepared: PreparedEnvironment, settings: ServeSettings) -> dict[str, str]:
    """The server's environment variables: ours, less those that would leak this interpreter into it."""
    environment = {name: value for name, value in os.environ.items() if name not in _NOT_INHERITED}
    bin_dir = str(prepared.python.parent)
    environment["PATH"] = os.pathsep.join(filter(None, [bin_dir, environment.get("PATH")]))
    environment["VIRTUAL_ENV"] = str(prepared.path)
    environment[SETTINGS_ENV] = _absolute(settings).to_json()
    return environment


def _absolute(settings: ServeSettings) -> ServeSettings:
    challenger = settings.challenger_dir
    return dataclasses.replace(
        settings,
        model_dir=str(Path(settings.model_dir).absolute()),
        challenger_dir=str(Path(challenger).absolute()) if challenger else None,
    )


def serve_in_environment(
    prepared: PreparedEnvironment, settings: ServeSettings, *, host: str, port: int, workers: int
) -> int:
    """Run the model server with the environment's interpreter until it exits; returns its exit status.

    SIGTERM and SIGINT sent to this process are forwarded to the server (which finishes the requests in
    flight); must be called from the main thread.
    """
    command = server_command(prepared.python, host, port, workers)
    return run_forwarding_signals(command, server_environment(prepared, settings))


def run_forwarding_signals(command: Sequence[str], environment: dict[str, str] | None = None) -> int:
    """Run `command` in its own process group, forwarding SIGTERM/SIGINT (SIGHUP as SIGTERM) to it.

    A signal that arrives while the command is starting is sent once it has started. Must be called from
    the main thread.

    Returns:
        The command's exit status; 128 + N when it was ended by signal N.
    """
    started: list[subprocess.Popen[bytes]] = []
    pending: list[signal.Signals] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        sent = _FORWARDED[signal.Signals(signum)]
        if not started:
            pending.append(sent)
        elif started[0].poll() is None:
            started[0].send_signal(sent)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        started.append(subprocess.Popen(list(command), env=environment, process_group=0))
        for sent in pending:
            started[0].send_signal(sent)
        status = started[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if started and started[0].poll() is None:
            started[0].kill()
            started[0].wait()
    return status if status >= 0 else 128 - status


def main(argv: Sequence[str] | None = None) -> int:
    """The server's side: serve the settings in `CAIRN_SERVING_SETTINGS`; returns the exit status.

    The status is 2 when the model cannot be served, 3 when a worker could not load it.
    """
    parser = argparse.ArgumentParser(
        prog=f"python -m {__name__}", description=f"Serve the model settings in ${SETTINGS_ENV}."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    text = os.environ.get(SETTINGS_ENV)
    if not text:
        parser.error(f"${SETTINGS_ENV} is not set")
    settings = ServeSettings.from_json(text)
    try:
        return serve_model(
            settings.model_dir,
            host=args.host,
            port=args.port,
            workers=args.workers,
            **serve_options(settings),
        )
    except CairnError as error:
        logging.getLogger("cairn.serving").error("cannot serve %s: %s", settings.model_dir, error.message)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
