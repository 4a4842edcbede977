"""Parsing model URIs: `runs:/<run_id>/<path>`, `models:/<name>/<version>`, `models:/<name>@<alias>`, ...

Parsing is pure: it checks the shape of a URI and names what it points at; resolving it to files needs a
store (see `resolution`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cairn.entities.registry import ModelStage
from cairn.errors import InvalidArgument
from cairn.store.artifacts.paths import safe_artifact_path

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
_VERSION = re.compile(r"^[1-9][0-9]{0,17}$")
LATEST = "latest"


@dataclass(frozen=True)
class RunModelUri:
    """`runs:/<run_id>/<path>`: files under a run's artifacts."""

    run_id: str
    path: str


@dataclass(frozen=True)
class LoggedModelUri:
    """`models:/m-<id>`: a logged model."""

    model_id: str


@dataclass(frozen=True)
class RegisteredModelUri:
    """A registered model's version: `models:/<name>/<version>`, `/latest`, `/<Stage>` or `@<alias>`.

    Exactly one of `version`, `alias`, `stage` is set, or none for `latest`.
    """

    name: str
    version: int | None = None
    alias: str | None = None
    stage: ModelStage | None = None


ModelUri = RunModelUri | LoggedModelUri | RegisteredModelUri


def is_model_uri(uri: str) -> bool:
    """True for `runs:/` and `models:/` URIs (which need a store to resolve)."""
    return uri.startswith(("runs:/", "models:/"))


def parse_model_uri(uri: str) -> ModelUri:
    """Parse a `runs:/` or `models:/` URI; `InvalidArgument` naming the URI and what is wrong."""
    if not isinstance(uri, str) or any(c in uri for c in "\x00?#\\"):
        raise InvalidArgument(f"model_uri {uri!r} is malformed")
    if uri.startswith("runs:/"):
        return _parse_run_uri(uri)
    if uri.startswith("models:/"):
        return _parse_models_uri(uri)
    raise InvalidArgument(f"model_uri {uri!r} must start with runs:/ or models:/")


def _parse_run_uri(uri: str) -> RunModelUri:
    rest = uri[len("runs:/") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not _RUN_ID.match(run_id):
        raise InvalidArgument(f"model_uri {uri!r}: {run_id!r} is not a run id (32 hex digits)")
    return RunModelUri(run_id, safe_artifact_path(path, "model_uri"))


def _parse_models_uri(uri: str) -> LoggedModelUri | RegisteredModelUri:
    rest = uri[len("models:/") :]
    if rest.startswith("/"):
        raise InvalidArgument(f"model_uri {uri!r} must not name a host: use models:/<name>/<version>")
    if _LOGGED_MODEL_ID.match(rest):
        return LoggedModelUri(rest)
    if "@" in rest:
        name, _, alias = rest.rpartition("@")
        if not name or not alias or "/" in alias:
            raise InvalidArgument(f"model_uri {uri!r} must look like models:/<name>@<alias>")
        return RegisteredModelUri(_name(name, uri), alias=alias)
    name, slash, selector = rest.rpartition("/")
    if not slash or not name or not selector:
        raise InvalidArgument(
            f"model_uri {uri!r} must look like models:/<name>/<version>, models:/<name>@<alias> "
            "or models:/m-<id>"
        )
    if _VERSION.match(selector):
        return RegisteredModelUri(_name(name, uri), version=int(selector))
    if selector.lower() == LATEST:
        return RegisteredModelUri(_name(name, uri))
    try:
        return RegisteredModelUri(_name(name, uri), stage=ModelStage.parse(selector))
    except InvalidArgument:
        raise InvalidArgument(
            f"model_uri {uri!r}: {selector!r} is not a version number, 'latest' or a stage"
        ) from None


def _name(name: str, uri: str) -> str:
    if "/" in name or name.strip() != name:
        raise InvalidArgument(f"model_uri {uri!r}: registered model name {name!r} is malformed")
    return name
