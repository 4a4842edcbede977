"""Turn an artifact root URI into the local or remote back end that serves it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import fsspec
from fsspec.implementations.local import LocalFileSystem

from cairn.errors import InvalidArgument, MissingExtra
from cairn.store.artifacts.backend import ArtifactBackend
from cairn.store.artifacts.local_backend import LocalBackend
from cairn.store.artifacts.remote_backend import RemoteBackend

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_LOCAL_SCHEMES = frozenset({"file", "local"})
_EXTRAS = {"s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3")}


def backend_for(root_uri: str) -> ArtifactBackend:
    """Return the back end for a root: a local folder path or `file://` URI, or any fsspec URI.

    Raises:
        InvalidArgument: for an empty or malformed root, or an unknown protocol.
        MissingExtra: when the protocol needs an optional package that is not installed.
    """
    if not isinstance(root_uri, str) or not root_uri.strip():
        raise InvalidArgument(f"root_uri must be a non-empty string, got {root_uri!r}")
    if "\x00" in root_uri:
        raise InvalidArgument(f"root_uri {root_uri!r} must not contain NUL characters")
    local = local_root(root_uri)
    if local is not None:
        return LocalBackend(local)
    try:
        fs, path = fsspec.core.url_to_fs(root_uri)
    except ImportError as exc:
        scheme = root_uri.split(":", 1)[0].lower()
        if scheme in _EXTRAS:
            raise MissingExtra(*_EXTRAS[scheme]) from exc
        raise InvalidArgument(f"root_uri {root_uri!r} needs a package that is not installed: {exc}") from exc
    except ValueError as exc:
        raise InvalidArgument(f"root_uri {root_uri!r} is not a supported storage URI: {exc}") from exc
    if isinstance(fs, LocalFileSystem):
        return LocalBackend(Path(os.path.abspath(path)))
    return RemoteBackend(fs, path)


def local_root(root_uri: str) -> Path | None:
    """Return the absolute folder for a plain path or `file:` URI; None for other schemes.

    A `file:` URI must have no host (or `localhost`), no query and no fragment; its path is
    percent-decoded once, as RFC 8089 says.
    """
    match = _SCHEME.match(root_uri)
    if match is None or len(match.group(1)) == 1:
        return Path(os.path.abspath(root_uri))
    if match.group(1).lower() not in _LOCAL_SCHEMES:
        return None
    parts = urlsplit(root_uri)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise InvalidArgument(
            f"root_uri {root_uri!r} must be file:///absolute/path with no host, query or fragment"
        )
    path = unquote(parts.path)
    if not path.startswith("/") or "\x00" in path:
        raise InvalidArgument(f"root_uri {root_uri!r} must name an absolute local path")
    return Path(os.path.abspath(path))
