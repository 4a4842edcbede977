"""Fetching a model package named by a `runs:/` or `models:/` URI into a local, verified cache.

A package is cached under its location and the digest of its spec file, so a second load of an unchanged
model costs one small read of the spec; the package layer still verifies every file's digest on load.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from cairn.errors import InvalidArgument, NotFound
from cairn.registry.client import RegistryClient
from cairn.tracking.client_artifacts import artifact_store_at

SPEC_FILE = "cairn-model.json"
CACHE_ENV = "CAIRN_MODEL_CACHE"


def model_cache_root() -> Path:
    """Where fetched packages are kept: `$CAIRN_MODEL_CACHE`, else `$XDG_CACHE_HOME/cairn/models`."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cairn" / "models"


def fetch_model(
    model_uri: str, *, tracking_uri: str | None = None, cache_dir: str | Path | None = None
) -> Path:
    """Download the package a model URI names (or reuse the cached copy) and return its local folder.

    Raises:
        NotFound: the model, version, alias, run or package spec does not exist.
        InvalidArgument: the URI is malformed.
    """
    client = RegistryClient(tracking_uri)
    location = client.artifact_location(model_uri)
    store = artifact_store_at(location, client.tracking.tracking_uri)
    try:
        with store.open(SPEC_FILE) as handle:
            spec_bytes = handle.read()
    except NotFound:
        raise NotFound(
            f"model_uri {model_uri!r} does not point at a Cairn model package (no {SPEC_FILE})"
        ) from None
    place = hashlib.sha256(f"{client.tracking.tracking_uri}\n{location}".encode()).hexdigest()[:32]
    content = hashlib.sha256(spec_bytes).hexdigest()[:32]
    target = Path(cache_dir) if cache_dir is not None else model_cache_root()
    target = target / place / content
    if (target / SPEC_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=target.parent))
    try:
        downloaded = store.download(None, staging)
        if not (downloaded / SPEC_FILE).is_file():
            raise InvalidArgument(f"model_uri {model_uri!r}: the download holds no {SPEC_FILE}")
        try:
            downloaded.rename(target)
        except OSError:
            if not (target / SPEC_FILE).is_file():  # not a concurrent fetch of the same package
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
