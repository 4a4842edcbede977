"""Resolving a model URI to the local package folder it names."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from cairn.errors import InvalidArgument


def resolve_model_uri(uri: str | Path) -> Path:
    """The local folder a model URI names.

    Accepts a local path, a `file:` URI (with an empty or `localhost` host), and the store URIs
    `runs:/<run_id>/<path>`, `models:/<name>/<version>`, `models:/<name>@<alias>` and `models:/m-<id>`,
    which are fetched from the current tracking store into the local model cache.

    Raises:
        InvalidArgument: for any other scheme, or a `file:` URI naming another host.
        NotFound: a store URI names a model, version, alias or run that does not exist.
    """
    if isinstance(uri, Path):
        return uri
    if uri.startswith(("runs:/", "models:/")):
        from cairn.models.remote import fetch_model

        return fetch_model(uri)
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidArgument(
                f"model URI {uri!r} names host {parsed.netloc!r}; only local files are read"
            )
        return Path(url2pathname(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        raise InvalidArgument(f"model URI scheme {parsed.scheme!r} is not supported: {uri!r}")
    return Path(uri)
