"""Canonical, safe relative keys for files in an artifact store.

Every artifact path a caller gives is checked here once and turned into one canonical key (forward
slashes, no empty or `.` components). Anything that a filesystem, URL parser or object store could read
as something other than a plain relative key is refused outright instead of being cleaned up: absolute
paths, drive letters, `..`, backslashes, control characters, URL syntax and percent-escapes.
"""

from __future__ import annotations

import re
import unicodedata

from cairn.errors import InvalidArgument

MAX_ARTIFACT_PATH_LENGTH = 1024
TEMP_PREFIX = ".cairn-tmp-"
"""Names starting with this are files being written; they are never listed, read or addressable."""

_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_URI_CHARS = ("?", "#", ";")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def safe_artifact_path(path: str | None, field: str = "path") -> str:
    """Check an artifact path and return its canonical relative key.

    Args:
        path: A relative path with forward slashes, or None for the root.
        field: The argument name to quote in error messages.

    Returns:
        The key: components joined by single `/`, without `.` components or a trailing slash;
        "" for the root.

    Raises:
        InvalidArgument: naming `field` and `path` when the path is not a plain relative key.
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise InvalidArgument(f"{field} must be a string, got {type(path).__name__}")
    if len(path) > MAX_ARTIFACT_PATH_LENGTH:
        raise InvalidArgument(
            f"{field} {path[:40]!r}... is {len(path)} characters; the limit is {MAX_ARTIFACT_PATH_LENGTH}"
        )
    reason = _unsafe_reason(path)
    if reason is None:
        folded = unicodedata.normalize("NFKC", path)
        if folded != path:
            reason = _unsafe_reason(folded)
            if reason is not None:
                reason = f"{reason} once Unicode compatibility characters are folded"
    if reason is not None:
        raise InvalidArgument(f"{field} {path!r} is not a safe artifact path: {reason}")
    return "/".join(part for part in path.split("/") if part not in ("", "."))


def join_key(folder: str, name: str) -> str:
    """Join two canonical keys ("" is the root)."""
    if not folder:
        return name
    if not name:
        return folder
    return f"{folder}/{name}"


def parent_key(key: str) -> str:
    """Return the key of the folder holding `key` ("" for a top-level name)."""
    return key.rpartition("/")[0]


def _unsafe_reason(path: str) -> str | None:
    """Return why `path` is unsafe, or None when it is a plain relative key."""
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in path):
        return "it contains control or invisible format characters"
    if "\\" in path:
        return "backslashes are not allowed; use '/'"
    if path.startswith("/"):
        return "it must be relative, not absolute"
    if path.startswith("~"):
        return "it must not start with '~'"
    if ":" in path.split("/", 1)[0]:
        return "its first component contains ':' (a drive letter or URI scheme)"
    for char in _URI_CHARS:
        if char in path:
            return f"{char!r} is not allowed"
    if _PERCENT_ESCAPE.search(path):
        return "percent-escapes are not allowed; give the decoded name"
    parts = path.split("/")
    if ".." in parts:
        return "'..' components are not allowed"
    if any(part.startswith(TEMP_PREFIX) for part in parts):
        return f"names starting with {TEMP_PREFIX!r} are reserved"
    return None
