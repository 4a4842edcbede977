"""Resolving model URIs in a registry store: the version a `models:/` URI names and where its files are."""

from __future__ import annotations

from collections.abc import Callable

from cairn.entities import Run
from cairn.entities.registry import ModelVersion
from cairn.errors import InvalidArgument, NotFound
from cairn.registry.model_uris import (
    LoggedModelUri,
    RegisteredModelUri,
    RunModelUri,
    is_model_uri,
    parse_model_uri,
)
from cairn.store.registry_protocols import RegistryStore

MAX_SOURCE_HOPS = 8
"""How many `models:/<name>/...` sources a resolution follows before it calls the chain a loop."""


def version_for(store: RegistryStore, target: RegisteredModelUri) -> ModelVersion:
    """The version a `models:/<name>...` URI names: by number, alias, legacy stage, or the newest."""
    if target.version is not None:
        return store.get_model_version(target.name, target.version)
    if target.alias is not None:
        return store.get_model_version_by_alias(target.name, target.alias)
    latest = store.get_latest_versions(target.name, [target.stage] if target.stage else [])
    if not latest:
        stage = f" in stage {target.stage}" if target.stage else ""
        raise NotFound(f"registered model {target.name!r} has no versions{stage}")
    return max(latest, key=lambda found: found.version)


def artifact_location(store: RegistryStore, get_run: Callable[[str], Run], uri: str) -> str:
    """The artifact URI holding the files `uri` names, following `runs:/` and `models:/` sources.

    `models:/m-<id>` is the logged model's artifact URI, `runs:/<run>/<path>` the run's artifact URI joined
    with the path, a registered `models:/` URI its version's source (followed in turn); any other URI (a
    store artifact URI, checked when the version was created) is returned as it is.
    """
    source = uri
    for _ in range(MAX_SOURCE_HOPS):
        if not is_model_uri(source):
            return source
        target = parse_model_uri(source)
        if isinstance(target, LoggedModelUri):
            return store.get_logged_model(target.model_id).artifact_uri
        if isinstance(target, RunModelUri):
            base = get_run(target.run_id).info.artifact_uri.rstrip("/")
            return f"{base}/{target.path}" if target.path else base
        source = version_for(store, target).source
    raise InvalidArgument(f"model_uri {uri!r}: sources go through more than {MAX_SOURCE_HOPS} models:/ URIs")
