"""Writing a self-contained container build context that serves a model package.

The context holds the package (`model/`), its lock (`requirements.lock`), a `Dockerfile` and the
`entrypoint.sh` the image runs. Nothing in it names a host path or carries a credential: the image is
built from the context alone (`docker build OUT`), with Cairn installed from the index by default or from
`--build-arg CAIRN_INSTALL_SPEC=...`.
"""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import cairn
from cairn.errors import InvalidArgument
from cairn.models.digests import verify_package
from cairn.models.environment_builder import CAIRN_EXTRAS, installable_requirements, verified_spec

MODEL_FOLDER = "model"
LOCK_FILE = "requirements.lock"
DOCKERFILE = "Dockerfile"
ENTRYPOINT_FILE = "entrypoint.sh"
CONTAINER_MODEL_DIR = "/opt/model"
CONTAINER_PORT = 8080
DEFAULT_PYTHON = "3.11"
_PYTHON_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?(?:(?:a|b|rc)\d+)?(?:\+[A-Za-z0-9.]+)?")
_URL_CREDENTIALS = re.compile(r"://[^/\s@]+@")
_LOCAL_REFERENCE = re.compile(r"(file:|^[/.~]|^-e\b|^--editable\b|^[a-z]:\\|@\s*[/.~])", re.IGNORECASE)

_PING_SCRIPT = (
    "import os, urllib.request; "
    f"urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '{CONTAINER_PORT}') + '/ping', "
    "timeout=4)"
)
ENTRYPOINT_SCRIPT = f"""#!/bin/sh
# Serves the model in {CONTAINER_MODEL_DIR} on $PORT (default {CONTAINER_PORT}).
set -eu
exec python -m cairn.serving.entrypoint \\
    --model {CONTAINER_MODEL_DIR} --host 0.0.0.0 --port "${{PORT:-{CONTAINER_PORT}}}"
"""


def write_build_context(model_dir: str | Path, out_dir: str | Path) -> Path:
    """Write a build context for an image serving the package in `model_dir`; returns `out_dir`.

    Raises:
        InvalidArgument: `out_dir` is not empty, or a locked requirement points at a local file or
            carries credentials (neither can be used inside an image).
        NotFound: `model_dir` is not a model package.
    """
    source = Path(model_dir)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidArgument(f"out_dir {out} exists and is not an empty folder")
    spec = verified_spec(source)
    requirements = installable_requirements(spec)
    for line in requirements:
        _check_portable(line)
    python = _base_python(spec.python_version)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, out / MODEL_FOLDER, symlinks=False)
    verify_package(out / MODEL_FOLDER, spec)  # the copy is exactly what was verified
    (out / LOCK_FILE).write_text("".join(f"{line}\n" for line in requirements))
    (out / DOCKERFILE).write_text(dockerfile(python))
    entrypoint = out / ENTRYPOINT_FILE
    entrypoint.write_text(ENTRYPOINT_SCRIPT)
    entrypoint.chmod(entrypoint.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return out


def dockerfile(python: str) -> str:
    """The Dockerfile text for a `python:<python>-slim` base (`python` is "major.minor")."""
    install_spec = f"cairn[{CAIRN_EXTRAS}]=={cairn.__version__}"
    return f"""# Serves a Cairn model package. Build: docker build -t my-model .
# Install Cairn from elsewhere with --build-arg CAIRN_INSTALL_SPEC=<requirement>.
FROM python:{python}-slim

ARG CAIRN_INSTALL_SPEC="{install_spec}"
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PORT={CONTAINER_PORT}

WORKDIR /opt
COPY {LOCK_FILE} /opt/{LOCK_FILE}
RUN python -m pip install -r /opt/{LOCK_FILE} "${{CAIRN_INSTALL_SPEC}}"

RUN groupadd --system cairn && useradd --system --gid cairn --no-create-home --shell /usr/sbin/nologin cairn
COPY {MODEL_FOLDER} {CONTAINER_MODEL_DIR}
COPY {ENTRYPOINT_FILE} /opt/{ENTRYPOINT_FILE}
USER cairn

EXPOSE {CONTAINER_PORT}
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\
    CMD ["python", "-c", "{_PING_SCRIPT}"]
ENTRYPOINT ["/opt/{ENTRYPOINT_FILE}"]
"""


def _base_python(version: str | None) -> str:
    """The "major.minor" of the package's Python version (the base image tag); DEFAULT_PYTHON when unknown."""
    if not version:
        return DEFAULT_PYTHON
    match = _PYTHON_VERSION.fullmatch(version)
    if match is None:
        raise InvalidArgument(f"python_version {version!r} in the model spec is not a Python version")
    return f"{match.group(1)}.{match.group(2)}"


def _check_portable(line: str) -> None:
    """Refuse requirement lines an image cannot use or must not carry: local paths and credentials."""
    text = line.strip()
    name = re.split(r"[\s@=<>!~;\[]", text, maxsplit=1)[0] or text
    if _URL_CREDENTIALS.search(text):
        raise InvalidArgument(f"requirement {name!r} in the lock carries credentials in its URL; remove them")
    if _LOCAL_REFERENCE.search(text):
        raise InvalidArgument(
            f"requirement {text!r} in the lock points at a local path, which the image cannot reach; "
            "publish it to an index or pass it by URL"
        )
