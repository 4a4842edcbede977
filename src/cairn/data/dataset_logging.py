"""Logging a dataset version: resolve the source, apply privacy rules, digest, profile, store, link a run."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.entities import Dataset, DatasetInput, InputTag
from cairn.entities.dataset import DATASET_CONTEXT_TAG
from cairn.entities.dataset_version import DatasetStorage, DatasetVersion, DatasetVersionDraft
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

    from cairn.data.client import DataClient
    from cairn.data.manifest import DataFile
    from cairn.data.pii_scan import PiiReport
    from cairn.data.privacy import PrivacyPolicy
    from cairn.data.sources import ResolvedSource

CONTEXTS = ("training", "validation", "test", "evaluation", "serving", "other")
VERSION_INPUT_TAG = "cairn.data.version"
PRIVACY_POLICY_ENV = "CAIRN_PRIVACY_POLICY"
TEXT_IN_MEMORY_BYTES = 256 * 1024 * 1024
"""CSV or JSON-lines versions up to this size are parsed once into memory for profiling."""
RUN_DIGEST_LENGTH = 36  # the run-input digest column's limit (MLflow's)


@dataclass(frozen=True)
class LogOptions:
    """How `log_dataset` stores a version.

    Attributes:
        context: What the run uses the data for (training, validation, test, evaluation, serving, other).
        storage: COPY stores the content in the artifact store; REFERENCE records only where it lives.
        description: Free text shown with the version.
        tags: Labels for the version.
        policy: The privacy policy: refuse, warn about, or transform personal data before it is stored.
        pii_columns: Columns to treat as personal data whatever the scanner finds.
        scan_pii: Scan a sample of the data for personal data (findings are stored on the version).
        profile: Compute and store the column profile.
    """

    context: str = "training"
    storage: DatasetStorage = DatasetStorage.COPY
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    policy: PrivacyPolicy | None = None
    pii_columns: tuple[str, ...] = ()
    scan_pii: bool = True
    profile: bool = True
    derived_from: int | None = None

    def __post_init__(self) -> None:
        if self.context not in CONTEXTS:
            raise InvalidArgument(f"context must be one of {', '.join(CONTEXTS)}, not {self.context!r}")


@dataclass
class _Prepared:
    """The content about to be versioned: its files (local), how to read them, and what they hold."""

    files: list[DataFile]
    local_paths: dict[str, str]
    data: pa.Table | pads.Dataset
    digest: str


def log_version(
    client: DataClient, source: Any, name: str, run_id: str | None, options: LogOptions
) -> DatasetVersion:
    """Version `source` under `name`; see `DataClient.log_dataset`.

    Unchanged content is found by its digest before anything is scanned, profiled or uploaded, so logging
    the same data again costs one pass of hashing (none for files the local hash cache knows). With a
    privacy policy the data is scanned first, because the policy decides what content gets stored.
    """
    from cairn.data.sources import resolve_source

    if options.policy is None:
        options = replace(options, policy=project_policy())
    resolved = resolve_source(source)
    if options.storage is DatasetStorage.REFERENCE and resolved.kind == "table":
        raise InvalidArgument(
            "storage='reference' needs a file, folder or URI: an in-memory table has no location"
        )
    with tempfile.TemporaryDirectory(prefix="cairn-data-") as scratch:
        version = _log_resolved(client, name, resolved, options, Path(scratch))
    if run_id is not None:
        link_to_run(client, run_id, version, options.context)
    return version


def project_policy() -> PrivacyPolicy | None:
    """The project's privacy policy: the YAML file named by `CAIRN_PRIVACY_POLICY`, if set.

    It applies to every dataset logged without a policy of its own, so a team can make "refuse personal
    data" or "hash emails" the default for a whole project.
    """
    path = os.environ.get(PRIVACY_POLICY_ENV)
    if not path:
        return None
    from cairn.data.privacy import load_policy

    return load_policy(path)


def _log_resolved(
    client: DataClient, name: str, resolved: ResolvedSource, options: LogOptions, scratch: Path
) -> DatasetVersion:
    from cairn.data.sources import open_tabular

    guarded = options.policy is not None or bool(options.pii_columns)
    table = resolved.table
    data: pa.Table | pads.Dataset | None = None
    report: PiiReport | None = None
    if guarded:
        data = table if table is not None else open_tabular(resolved.files)
        report = _scan(data, options)
        transformed = _apply_policy(data, report, options)
        if transformed is not None:
            if options.storage is DatasetStorage.REFERENCE:
                raise InvalidArgument(
                    "the privacy policy transforms this data: it cannot be stored by reference"
                )
            table = data = transformed
    content = _content_of(resolved, table)
    existing = client.store.find_dataset_version(name, content.digest, options.storage)
    if existing is not None:
        return existing
    if data is None:
        data = table if table is not None else open_tabular(resolved.files)
        report = _scan(data, options)
    prepared = _prepare(content, data, table, scratch)
    return _store_version(client, name, prepared, resolved, report, options)


@dataclass
class _Content:
    """The digest of what is about to be versioned, and for files their digests."""

    digest: str
    files: list[DataFile]
    local_paths: dict[str, str]


def _content_of(resolved: ResolvedSource, table: pa.Table | None) -> _Content:
    from cairn.data.digests import dataset_digest, table_digest

    if table is not None:
        return _Content(dataset_digest([table_digest(table)]), [], {})
    files, local_paths = _digest_files(resolved)
    return _Content(dataset_digest([f.digest for f in files]), files, local_paths)


def _prepare(
    content: _Content, data: pa.Table | pads.Dataset, table: pa.Table | None, scratch: Path
) -> _Prepared:
    if table is None:
        return _Prepared(content.files, content.local_paths, data, content.digest)
    from cairn.data.content_store import materialise_table
    from cairn.data.manifest import DataFile

    path, file_digest, size = materialise_table(table, scratch)
    part = DataFile(path="data.parquet", digest=file_digest, size=size, format="parquet")
    return _Prepared([part], {part.path: str(path)}, table, content.digest)


def _digest_files(resolved: ResolvedSource) -> tuple[list[DataFile], dict[str, str]]:
    from cairn.data.hash_cache import digest_source_files
    from cairn.data.manifest import DataFile

    digests = digest_source_files(resolved.files)
    files = [
        DataFile(path=f.name, digest=digest, size=f.size, format=f.format)
        for f, digest in zip(resolved.files, digests, strict=True)
    ]
    return files, {f.name: f.location for f in resolved.files}


def _scan(data: pa.Table | pads.Dataset, options: LogOptions) -> PiiReport | None:
    if not options.scan_pii and not options.pii_columns and options.policy is None:
        return None
    from cairn.data.pii_scan import scan_pii

    return scan_pii(data)


def _apply_policy(
    data: pa.Table | pads.Dataset, report: PiiReport | None, options: LogOptions
) -> pa.Table | None:
    """The transformed table when the policy changes the data, else None (warnings are emitted here)."""
    from cairn.data.privacy import PrivacyPolicy, apply_policy

    policy = options.policy
    if options.pii_columns:
        policy = (policy or PrivacyPolicy(on_pii="warn")).with_pii_columns(options.pii_columns)
    if policy is None or report is None:
        return None
    from cairn.data.client import as_table

    outcome = apply_policy(as_table(data), report, policy)
    for message in outcome.warnings:
        warnings.warn(message, UserWarning, stacklevel=4)
    return outcome.table if outcome.actions_taken else None


def _store_version(
    client: DataClient,
    name: str,
    prepared: _Prepared,
    resolved: ResolvedSource,
    report: PiiReport | None,
    options: LogOptions,
) -> DatasetVersion:
    from cairn.data.manifest import Manifest

    schema, profile = _describe(_scannable(prepared), options)
    if options.storage is DatasetStorage.COPY:
        client.content.put_files([(prepared.local_paths[f.path], f.digest, f.size) for f in prepared.files])
    locations = {} if options.storage is DatasetStorage.COPY else prepared.local_paths
    manifest = Manifest(
        files=tuple(prepared.files),
        storage=options.storage.value,
        source=resolved.source,
        locations=locations,
    )
    manifest_digest = client.content.put_bytes(manifest.to_json())
    draft = DatasetVersionDraft(
        name=name,
        digest=prepared.digest,
        row_count=_row_count(prepared.data, profile),
        schema=schema,
        profile=profile,
        source=resolved.source,
        source_type=resolved.source_type,
        storage=options.storage,
        manifest_digest=manifest_digest,
        file_count=len(prepared.files),
        size_bytes=sum(f.size for f in prepared.files),
        description=options.description,
        tags=dict(options.tags),
        pii=report.to_dict() if report is not None else None,
        derived_from=options.derived_from,
    )
    version, _ = client.store.create_dataset_version(draft, client.user)
    return version


def _scannable(prepared: _Prepared) -> pa.Table | pads.Dataset:
    """The data to profile: small text files are read into memory once rather than parsed per scan.

    Profiling scans the data three times; DuckDB reads Parquet natively, but CSV and JSON lines go through
    Arrow's parsers each time, which for thousands of small files costs more than reading them once.
    """
    import pyarrow as pa

    data = prepared.data
    if isinstance(data, pa.Table) or all(f.format == "parquet" for f in prepared.files):
        return data
    if sum(f.size for f in prepared.files) > TEXT_IN_MEMORY_BYTES:
        return data
    return data.to_table()


def _describe(
    data: pa.Table | pads.Dataset, options: LogOptions
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from cairn.data.profile import profile_data
    from cairn.data.profile_diff import schema_of

    schema = schema_of(data)
    if options.pii_columns:
        tagged = set(options.pii_columns)
        for column in schema["columns"]:
            if column["name"] in tagged:
                column["tags"] = sorted({*column.get("tags", []), "pii"})
    return schema, profile_data(data).to_dict() if options.profile else None


def _row_count(data: pa.Table | pads.Dataset, profile: dict[str, Any] | None) -> int:
    if profile is not None:
        return int(profile["row_count"])
    return int(data.num_rows if hasattr(data, "num_rows") else data.count_rows())


def link_to_run(client: DataClient, run_id: str, version: DatasetVersion, context: str) -> None:
    """Record the version as an input of the run, with its context and version number."""
    dataset = Dataset(
        name=version.name,
        digest=version.digest[:RUN_DIGEST_LENGTH],
        source_type=version.source_type[:36],
        source=version.source,
        schema=None,
        profile=None,
    )
    tags = (InputTag(DATASET_CONTEXT_TAG, context), InputTag(VERSION_INPUT_TAG, str(version.version)))
    client.tracking.log_inputs(run_id, [DatasetInput(dataset, tags)])
