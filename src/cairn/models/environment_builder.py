"""Building a virtual environment from a model package's lock, with uv when present, else venv + pip.

The environment gets the package's pinned requirements and Cairn itself (with the `server` extra, so it can
serve the model), resolved together in one installer run so that Cairn's own dependencies cannot silently
move a pinned version. Cairn is installed from the same place as the running one: the local project for an
editable or local install, else the same version from the index; `CAIRN_INSTALL_SPEC` overrides both.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from cairn.errors import CairnError, InvalidArgument
from cairn.models.digests import verify_package
from cairn.models.spec import ModelSpec, read_spec
from cairn.tracking.environment import normalize_distribution_name

INSTALL_SPEC_ENV = "CAIRN_INSTALL_SPEC"
INSTALLERS = ("uv", "pip")
CAIRN_EXTRAS = "server"
_OUTPUT_TAIL_LINES = 25
_ISOLATING_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONNOUSERSITE")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")

OutputSink = Callable[[str], None]


def build_environment(
    model_dir: str | Path,
    target: str | Path,
    *,
    python: str | None = None,
    installer: str | None = None,
    on_output: OutputSink | None = None,
) -> Path:
    """Create a virtual environment at `target` holding the package's locked requirements and Cairn.

    Args:
        model_dir: Folder of the model package.
        target: Folder for the environment; it must not exist or be empty.
        python: Interpreter for the environment (a path, a command name, or for uv a version such as
            "3.11"); default: the running interpreter.
        installer: "uv" or "pip"; default: uv when it is on PATH, else the standard library's venv + pip.
        on_output: Called with each line the installer prints (default: the lines are only kept for errors).

    Returns:
        The environment's Python interpreter.

    Raises:
        InvalidArgument: Unknown installer, interpreter not found, or `target` not empty.
        CairnError: The installer failed; the message ends with its last output lines.
    """
    spec = verified_spec(model_dir)
    requirements = installable_requirements(spec)
    chosen = _choose_installer(installer)
    target = Path(target).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidArgument(f"target {target} exists and is not an empty folder")
    created = not target.exists()
    try:
        env_python = _create(chosen, target, python, on_output)
        _warn_on_python_mismatch(env_python, spec.python_version)
        with tempfile.TemporaryDirectory(prefix="cairn-lock-") as scratch:
            lock = Path(scratch) / "requirements.lock"
            lock.write_text("".join(f"{line}\n" for line in requirements))
            _install(chosen, env_python, ["-r", str(lock), cairn_install_spec()], on_output)
    except BaseException:
        _remove_partial(target, keep_folder=not created)
        raise
    return env_python


def _remove_partial(target: Path, *, keep_folder: bool) -> None:
    """Undo a failed build: remove what it wrote, and the folder itself if the build created it."""
    if not keep_folder:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def verified_spec(model_dir: str | Path) -> ModelSpec:
    """The spec of the package in `model_dir`, after checking every file against its digest.

    Raises:
        NotFound: There is no such folder.
        InvalidArgument: The folder is not a model package, or a file is missing, altered or added.
    """
    root = Path(model_dir)
    spec = read_spec(root)
    verify_package(root, spec)
    return spec


def installable_requirements(spec: ModelSpec) -> list[str]:
    """The lock's requirement lines without blanks, comments and Cairn itself (installed on its own)."""
    lines = []
    for line in spec.requirements:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        match = _REQUIREMENT_NAME.match(text)
        if match and normalize_distribution_name(match.group(1)) == "cairn":
            continue
        lines.append(text)
    return lines


def cairn_install_spec() -> str:
    """The requirement that installs this Cairn (with the server extra) into another environment.

    `CAIRN_INSTALL_SPEC` when set; else the local project or file for an editable/local install (from the
    distribution's `direct_url.json`); else the same version from the package index.
    """
    override = os.environ.get(INSTALL_SPEC_ENV, "").strip()
    if override:
        return override
    try:
        distribution = metadata.distribution("cairn")
    except metadata.PackageNotFoundError:
        import cairn

        return f"cairn[{CAIRN_EXTRAS}]=={cairn.__version__}"
    origin = reinstall_origin(distribution.read_text("direct_url.json"))
    if origin is not None:
        return f"cairn[{CAIRN_EXTRAS}] @ {origin}"
    return f"cairn[{CAIRN_EXTRAS}]=={distribution.version}"


def reinstall_origin(direct_url: str | None) -> str | None:
    """The URL to reinstall a distribution from, given its `direct_url.json` (PEP 610) text.

    A local folder or file gives its `file://` URL, a VCS checkout `<vcs>+<url>@<commit>`; anything else
    (no file, a remote archive, unreadable JSON) gives None: install the released version instead.
    """
    if not direct_url:
        return None
    try:
        info = json.loads(direct_url)
    except json.JSONDecodeError:
        return None
    url = info.get("url") if isinstance(info, dict) else None
    if not isinstance(url, str):
        return None
    if url.startswith("file://"):
        return url
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str) and isinstance(vcs.get("commit_id"), str):
        return f"{vcs['vcs']}+{url}@{vcs['commit_id']}"
    return None


def _choose_installer(installer: str | None) -> str:
    if installer is None:
        return "uv" if shutil.which("uv") else "pip"
    if installer not in INSTALLERS:
        raise InvalidArgument(f"installer must be one of {', '.join(INSTALLERS)}; got {installer!r}")
    if installer == "uv" and shutil.which("uv") is None:
        raise InvalidArgument("installer 'uv' was asked for but uv is not on PATH")
    return installer


def _create(installer: str, target: Path, python: str | None, on_output: OutputSink | None) -> Path:
    """Create the bare environment; returns its interpreter."""
    if installer == "uv":
        _run(["uv", "venv", "--python", python or sys.executable, str(target)], "uv venv", on_output)
    else:
        interpreter = _interpreter(python)
        _run([interpreter, "-m", "venv", str(target)], "python -m venv", on_output)
    env_python = venv_python(target)
    if not env_python.exists():
        raise CairnError(f"the environment at {target} has no interpreter at {env_python}")
    return env_python


def _install(
    installer: str, env_python: Path, arguments: Sequence[str], on_output: OutputSink | None
) -> None:
    if installer == "uv":
        command = ["uv", "pip", "install", "--python", str(env_python), *arguments]
    else:
        command = [str(env_python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        command += arguments
    _run(command, f"{installer} install", on_output)


def _interpreter(python: str | None) -> str:
    if python is None:
        return sys.executable
    found = python if os.sep in python else shutil.which(python)
    if found is None or not Path(found).exists():
        raise InvalidArgument(f"python {python!r} is not an interpreter on this machine")
    return found


def venv_python(target: Path) -> Path:
    """The interpreter of the virtual environment at `target`."""
    if os.name == "nt":
        return target / "Scripts" / "python.exe"
    return target / "bin" / "python"


def _run(command: Sequence[str], step: str, on_output: OutputSink | None) -> None:
    """Run one installer step; on failure raise with the step's last output lines."""
    environment = {name: value for name, value in os.environ.items() if name not in _ISOLATING_ENV}
    tail: collections.deque[str] = collections.deque(maxlen=_OUTPUT_TAIL_LINES)
    try:
        process = subprocess.Popen(
            list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
        )
    except OSError as error:
        raise CairnError(f"{step} could not start: {error}") from None
    assert process.stdout is not None
    with process:
        for raw in process.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            if on_output is not None:
                on_output(line)
    if process.returncode != 0:
        output = "\n".join(tail) or "(no output)"
        raise CairnError(f"{step} failed with exit status {process.returncode}; its last output:\n{output}")


def _warn_on_python_mismatch(env_python: Path, locked: str | None) -> None:
    if not locked:
        return
    found = subprocess.run(
        [str(env_python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if found.split(".")[:2] != locked.split(".")[:2]:
        warnings.warn(
            f"the environment runs Python {found or 'unknown'} but the model was saved with Python {locked}",
            UserWarning,
            stacklevel=3,
        )
