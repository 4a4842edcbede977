"""Checking where a new model version's files come from: only places the store itself owns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from cairn._internal.registry_validation import validate_model_name, validate_version
from cairn._internal.validation import validate_run_id
from cairn.errors import InvalidArgument

MAX_SOURCE_LENGTH = 10_000
_RUNS_PREFIX = "runs:/"
_LOGGED_MODEL_URI = re.compile(r"^m-[0-9a-f]{32}$")
_MODELS_PREFIX = "models:/"
_DECODE_ROUNDS = 4
_ALLOWED = (
    "use runs:/<run_id>/<path>, models:/<model_id>, models:/<name>/<version> "
    "or a URI under the store's artifact root"
)


class SourceKind(StrEnum):
    """What a version source points at."""

    RUN = "run"
    LOGGED_MODEL = "logged_model"
    MODEL_VERSION = "model_version"
    ARTIFACT = "artifact"


@dataclass(frozen=True)
class VersionSource:
    """A checked version source and what it names.

    Attributes:
        uri: The source exactly as given.
        kind: Which of the allowed forms it has.
        run_id: For `runs:/<run_id>/<path>`, the run.
        model_id: For `models:/<m-id>`, the logged model.
        model_name: For `models:/<name>/<version>`, the registered model.
        version: For `models:/<name>/<version>`, the version number.
    """

    uri: str
    kind: SourceKind
    run_id: str | None = None
    model_id: str | None = None
    model_name: str | None = None
    version: int | None = None


def parse_version_source(source: object, artifact_roots: Sequence[str]) -> VersionSource:
    """Check a model version's `source` and say what it names.

    Allowed: `runs:/<run_id>/<relative path>`, `models:/m-<32 hex>` (a logged model),
    `models:/<name>/<version>`, and URIs under one of `artifact_roots` (same scheme and host,
    below the root's path). Refused: local paths, `file:` URIs outside the roots, other schemes
    and hosts, aliases (`models:/<name>@<alias>`, which can move), and any path with `.` or `..`
    segments, even percent-encoded or written with backslashes.

    Raises:
        InvalidArgument: naming the source and why it is refused.
    """
    text = _checked_text(source)
    if text.startswith(_RUNS_PREFIX):
        return _run_source(text)
    if text.startswith(_MODELS_PREFIX):
        return _models_source(text)
    if "?" in text or "#" in text:
        raise InvalidArgument(f"source {text!r} must not carry a query or fragment; {_ALLOWED}")
    for root in artifact_roots:
        if root and _is_under_root(text, root):
            return VersionSource(text, SourceKind.ARTIFACT)
    raise InvalidArgument(f"source {text!r} {_refusal(text)}; {_ALLOWED}")


def _checked_text(source: object) -> str:
    if not isinstance(source, str):
        raise InvalidArgument(f"source must be a string, got {type(source).__name__}")
    if not source.strip():
        raise InvalidArgument("source must not be empty")
    if len(source) > MAX_SOURCE_LENGTH:
        raise InvalidArgument(f"source is {len(source)} characters; the limit is {MAX_SOURCE_LENGTH}")
    if "\\" in source:
        raise InvalidArgument(f"source {source!r} must not contain backslashes")
    if any(ord(char) < 32 or ord(char) == 127 for char in source):
        raise InvalidArgument(f"source {source!r} must not contain control characters")
    return source


def _refusal(text: str) -> str:
    scheme = urlsplit(text).scheme.lower()
    if not scheme or len(scheme) == 1:
        return "is a local path, which a version may not point at"
    if scheme == "file":
        return "is a file: URI outside the store's artifact root"
    return "is outside the store's own artifact locations"


def _run_source(text: str) -> VersionSource:
    run_id, slash, path = text[len(_RUNS_PREFIX) :].partition("/")
    try:
        validate_run_id(run_id)
    except InvalidArgument:
        raise InvalidArgument(f"source {text!r} does not name a valid run id") from None
    if not slash or not path.strip("/"):
        raise InvalidArgument(f"source {text!r} must name a path inside the run: runs:/<run_id>/<path>")
    check_relative_path(text, path)
    return VersionSource(text, SourceKind.RUN, run_id=run_id)


def _models_source(text: str) -> VersionSource:
    rest = text[len(_MODELS_PREFIX) :]
    if _LOGGED_MODEL_URI.match(rest):
        return VersionSource(text, SourceKind.LOGGED_MODEL, model_id=rest)
    if "@" in rest:
        raise InvalidArgument(f"source {text!r} names an alias, which can move; give the version number")
    parts = rest.split("/")
    if len(parts) != 2:
        raise InvalidArgument(f"source {text!r} must be models:/<model_id> or models:/<name>/<version>")
    try:
        name = validate_model_name(parts[0], "source model name")
        version = validate_version(parts[1], "source version")
    except InvalidArgument as error:
        raise InvalidArgument(f"source {text!r}: {error.message}") from None
    return VersionSource(text, SourceKind.MODEL_VERSION, model_name=name, version=version)


def _is_under_root(text: str, root: str) -> bool:
    found, base = urlsplit(text), urlsplit(root.rstrip("/"))
    if not base.scheme or found.scheme.lower() != base.scheme.lower() or found.netloc != base.netloc:
        return False
    prefix = base.path.rstrip("/") + "/"
    if not found.path.startswith(prefix):
        return False
    remainder = found.path[len(prefix) :]
    if not remainder.strip("/"):
        raise InvalidArgument(f"source {text!r} must name a folder below the artifact root, not the root")
    check_relative_path(text, remainder)
    return True


def check_relative_path(source: str, path: str) -> None:
    """Refuse a relative path (inside a source URI) that could climb out of its folder.

    Checks the path as written and fully percent-decoded: no `.` or `..` segments (also in
    Unicode compatibility forms such as full-width dots), no empty segments, no leading `/`,
    no backslashes or control characters.

    Raises:
        InvalidArgument: naming `source`.
    """
    decoded = _fully_decoded(source, path)
    if decoded.startswith("/") or path.startswith("/"):
        raise InvalidArgument(f"source {source!r} has an absolute path where a relative one belongs")
    if "\\" in decoded or any(ord(char) < 32 or ord(char) == 127 for char in decoded):
        raise InvalidArgument(f"source {source!r} hides backslashes or control characters in its path")
    for form in (path, decoded):
        segments = form.removesuffix("/").split("/")
        if any(not segment for segment in segments):
            raise InvalidArgument(f"source {source!r} has an empty path segment")
        if any(unicodedata.normalize("NFKC", segment) in (".", "..") for segment in segments):
            raise InvalidArgument(f"source {source!r} has a '.' or '..' path segment")


def _fully_decoded(source: str, path: str) -> str:
    current = path
    for _ in range(_DECODE_ROUNDS):
        try:
            decoded = unquote(current, errors="strict")
        except UnicodeDecodeError:
            raise InvalidArgument(f"source {source!r} has percent-escapes that are not UTF-8") from None
        if decoded == current:
            return decoded
        current = decoded
    raise InvalidArgument(f"source {source!r} is percent-encoded too many times over")
