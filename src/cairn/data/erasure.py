"""Erasure: rewrite a dataset's versions without the rows a filter matches, and show what to retrain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cairn._internal.clock import now_ms
from cairn.entities.dataset_version import DatasetStorage, DatasetVersion, DatasetVersionStatus
from cairn.errors import NotFound

if TYPE_CHECKING:
    import pyarrow.dataset as pads

    from cairn.data.client import DataClient
    from cairn.entities.registry import ModelVersion


@dataclass(frozen=True)
class ErasedVersion:
    """One version that held matching rows, and the version written without them."""

    version: int
    rows_removed: int
    replaced_by: int


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure did, and whose lineage it touches.

    Attributes:
        name: The dataset.
        where: The row filter.
        erased: Versions that held matching rows, each with its replacement.
        runs: Ids of runs that used an erased version (their results include the erased rows).
        model_versions: Registered model versions made from those runs, as (name, version).
        purged_blobs: How many stored files were deleted (0 until the erasure is confirmed with purge).
        kept_references: Locations of by-reference versions whose source Cairn cannot delete itself.
    """

    name: str
    where: str
    erased: tuple[ErasedVersion, ...]
    runs: tuple[str, ...]
    model_versions: tuple[tuple[str, int], ...]
    purged_blobs: int = 0
    kept_references: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "name": self.name,
            "where": self.where,
            "erased": [vars(e) for e in self.erased],
            "runs": list(self.runs),
            "model_versions": [{"name": n, "version": v} for n, v in self.model_versions],
            "purged_blobs": self.purged_blobs,
            "kept_references": list(self.kept_references),
        }


def erase_rows(client: DataClient, name: str, where: str, *, purge: bool) -> ErasureResult:
    """Write new versions of `name` without the rows matching `where`; see `DataClient.erase`.

    Versions already erased by an earlier call are purged when `purge` is set, so an erasure can be run
    first to review its consequences and then confirmed.
    """
    from cairn.data.row_filter import parse_row_filter

    row_filter = parse_row_filter(where)
    versions = [v for v in client.versions(name) if v.status is DatasetVersionStatus.READY]
    if not versions:
        raise NotFound(f"dataset {name!r} has no readable version")
    erased: list[ErasedVersion] = []
    affected: list[DatasetVersion] = []
    for version in sorted(versions, key=lambda v: v.version):
        data = client.open(name, version.version)
        missing = row_filter.columns - set(data.schema.names)
        if missing:
            continue
        expression = row_filter.to_arrow_expression(data.schema)
        matching = data.count_rows(filter=expression)
        if matching == 0:
            continue
        replacement = _rewrite(client, version, data, expression)
        client.store.mark_dataset_version_erased(
            name,
            version.version,
            {
                "where": where,
                "rows_removed": matching,
                "replaced_by": replacement.version,
                "time": now_ms(),
                "by": client.user,
                "purged": False,
            },
        )
        _move_aliases(client, version, replacement)
        erased.append(ErasedVersion(version.version, matching, replacement.version))
        affected.append(version)
    runs, models = _lineage(client, name, [v.digest for v in affected])
    purged = purge_erased(client, name) if purge else 0
    references = tuple(v.source for v in affected if v.storage is DatasetStorage.REFERENCE)
    return ErasureResult(name, where, tuple(erased), runs, models, purged, references)


def _rewrite(
    client: DataClient, version: DatasetVersion, data: pads.Dataset, expression: Any
) -> DatasetVersion:
    import pyarrow.compute as pc

    from cairn.data.dataset_logging import LogOptions

    kept = data.to_table(filter=~expression | pc.is_null(expression))
    options = LogOptions(
        description=f"version {version.version} without erased rows",
        tags=dict(version.tags),
        scan_pii=version.pii is not None,
        derived_from=version.version,
    )
    return client.log_dataset(kept, version.name, options=options)


def _move_aliases(client: DataClient, old: DatasetVersion, new: DatasetVersion) -> None:
    for alias in old.aliases:
        client.set_alias(old.name, alias, new.version)


def _lineage(
    client: DataClient, name: str, digests: list[str]
) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    from cairn.data.dataset_logging import RUN_DIGEST_LENGTH

    runs = sorted({r for d in digests for r in client.store.runs_using_dataset(name, d[:RUN_DIGEST_LENGTH])})
    models: set[tuple[str, int]] = set()
    registry = _registry(client)
    if registry is not None:
        for run_id in runs:
            models.update((mv.name, mv.version) for mv in _versions_for_run(registry, run_id))
    return tuple(runs), tuple(sorted(models))


def _registry(client: DataClient) -> Any:
    from cairn.errors import InvalidArgument
    from cairn.registry.client import RegistryClient

    try:
        return RegistryClient(tracking=client.tracking)
    except InvalidArgument:
        return None


def _versions_for_run(registry: Any, run_id: str) -> list[ModelVersion]:
    versions: list[ModelVersion] = registry.versions_for_run(run_id)
    return versions


def purge_erased(client: DataClient, name: str) -> int:
    """Delete the stored files of erased versions that no readable version shares; returns how many."""
    from cairn.data.loading import read_manifest

    versions = client.versions(name)
    keep: set[str] = set()
    drop: set[str] = set()
    for version in versions:
        if version.storage is not DatasetStorage.COPY:
            continue
        digests = {f.digest for f in read_manifest(client, version).files}
        (drop if version.status is DatasetVersionStatus.ERASED else keep).update(digests)
    doomed = sorted(drop - keep - _shared_elsewhere(client, name, drop - keep))
    client.content.delete(doomed)
    client.store.forget_dataset_blobs(doomed)
    for version in versions:
        erasure = version.erasure
        if (
            version.status is DatasetVersionStatus.ERASED
            and erasure is not None
            and not erasure.get("purged")
        ):
            client.store.mark_dataset_version_erased(name, version.version, {**erasure, "purged": True})
    return len(doomed)


def _shared_elsewhere(client: DataClient, name: str, candidates: set[str]) -> set[str]:
    """Blobs among `candidates` that readable versions of other datasets also hold."""
    from cairn.data.loading import read_manifest

    shared: set[str] = set()
    if not candidates:
        return shared
    for summary in client.list_datasets():
        if summary.name == name:
            continue
        for version in client.versions(summary.name):
            if version.status is DatasetVersionStatus.READY and version.storage is DatasetStorage.COPY:
                shared.update(candidates & {f.digest for f in read_manifest(client, version).files})
    return shared
