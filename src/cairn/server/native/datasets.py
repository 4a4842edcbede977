"""The native dataset API (`/api/v1/datasets`, `/api/v1/dataset-blobs`): versions, aliases, blobs, lineage.

Writes are POST with JSON bodies (DELETE for an alias); JSON values (schema, profile, PII findings,
validation reports, erasure records) travel as objects. Errors: 404 for a missing dataset, version or
alias, 409 for aliasing an erased version, 400 for bad input. `cairn.store.rest.RestStore` is its client.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from cairn.entities.dataset_version import (
    DatasetStorage,
    DatasetSummary,
    DatasetVersion,
    DatasetVersionDraft,
    DatasetVersionStatus,
)
from cairn.errors import CairnError
from cairn.server.native.models import MAX_BATCH_ITEMS, error_responses
from cairn.server.native.models import Request as RequestBody
from cairn.server.registry_access import parse_version, request_actor
from cairn.server.services import get_services
from cairn.store.dataset_protocols import (
    DatasetAliasStore,
    DatasetBlobStore,
    DatasetLineageStore,
    DatasetVersionStore,
    DataStore,
)

router = APIRouter(tags=["datasets"], responses=error_responses(400, 404, 409))
_DATASET = "/datasets/{name}"
_VERSION = _DATASET + "/versions/{version}"
_DATA_METHODS = tuple(
    sorted(
        name
        for part in (DatasetVersionStore, DatasetAliasStore, DatasetBlobStore, DatasetLineageStore)
        for name, value in vars(part).items()
        if callable(value) and not name.startswith("_")
    )
)


def get_data_store(request: Request) -> DataStore:
    """FastAPI dependency: the app's store as a DataStore; a server error if it keeps no datasets."""
    store: Any = get_services(request).store
    missing = [name for name in _DATA_METHODS if not callable(getattr(store, name, None))]
    if missing:
        raise CairnError(f"this server's store keeps no dataset versions (it lacks {', '.join(missing[:3])})")
    return cast(DataStore, store)


DataDep = Annotated[DataStore, Depends(get_data_store)]


class DatasetVersionModel(BaseModel):
    """One stored version of a dataset."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    version: int
    digest: str
    row_count: int
    dataset_schema: dict[str, Any] = Field(alias="schema")
    profile: dict[str, Any] | None
    source: str
    source_type: str
    storage: DatasetStorage
    manifest_digest: str
    file_count: int
    size_bytes: int
    created_by: str
    creation_time: int
    description: str | None
    tags: dict[str, str]
    pii: dict[str, Any] | None
    derived_from: int | None
    aliases: list[str]
    status: DatasetVersionStatus
    validations: list[dict[str, Any]]
    erasure: dict[str, Any] | None

    @classmethod
    def of(cls, version: DatasetVersion) -> DatasetVersionModel:
        """The model of a DatasetVersion entity."""
        return cls(
            name=version.name,
            version=version.version,
            digest=version.digest,
            row_count=version.row_count,
            schema=version.schema,
            profile=version.profile,
            source=version.source,
            source_type=version.source_type,
            storage=version.storage,
            manifest_digest=version.manifest_digest,
            file_count=version.file_count,
            size_bytes=version.size_bytes,
            created_by=version.created_by,
            creation_time=version.creation_time,
            description=version.description,
            tags=dict(version.tags),
            pii=version.pii,
            derived_from=version.derived_from,
            aliases=list(version.aliases),
            status=version.status,
            validations=list(version.validations),
            erasure=version.erasure,
        )


class DatasetSummaryModel(BaseModel):
    """One dataset as listed."""

    name: str
    description: str | None
    creation_time: int
    last_updated_time: int
    latest_version: int
    aliases: dict[str, int]

    @classmethod
    def of(cls, summary: DatasetSummary) -> DatasetSummaryModel:
        """The model of a DatasetSummary entity."""
        return cls(
            name=summary.name,
            description=summary.description,
            creation_time=summary.creation_time,
            last_updated_time=summary.last_updated_time,
            latest_version=summary.latest_version,
            aliases=dict(summary.aliases),
        )


class CreateDatasetVersion(RequestBody):
    """A new version of the dataset named in the path; `created_by` is who logged it."""

    model_config = ConfigDict(populate_by_name=True)

    digest: str
    row_count: int
    dataset_schema: dict[str, Any] = Field(alias="schema")
    profile: dict[str, Any] | None = None
    source: str
    source_type: str
    storage: DatasetStorage
    manifest_digest: str
    file_count: int
    size_bytes: int
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    pii: dict[str, Any] | None = None
    derived_from: int | None = None
    created_by: str | None = None

    def draft(self, name: str) -> DatasetVersionDraft:
        """The draft this body describes."""
        return DatasetVersionDraft(
            name=name,
            digest=self.digest,
            row_count=self.row_count,
            schema=self.dataset_schema,
            profile=self.profile,
            source=self.source,
            source_type=self.source_type,
            storage=self.storage,
            manifest_digest=self.manifest_digest,
            file_count=self.file_count,
            size_bytes=self.size_bytes,
            description=self.description,
            tags=self.tags,
            pii=self.pii,
            derived_from=self.derived_from,
        )


class CreatedDatasetVersion(BaseModel):
    """The version stored for a create request; `created` is false when identical content existed."""

    dataset_version: DatasetVersionModel
    created: bool


class FoundDatasetVersion(BaseModel):
    """A version found by digest, or null."""

    dataset_version: DatasetVersionModel | None


class DatasetVersionPage(BaseModel):
    """One page of a dataset's versions, newest first."""

    dataset_versions: list[DatasetVersionModel]
    next_page_token: str | None


class DatasetPage(BaseModel):
    """One page of datasets by name."""

    datasets: list[DatasetSummaryModel]
    next_page_token: str | None


class UpdateDatasetVersion(RequestBody):
    """Fields to replace; null ones stay as they are."""

    description: str | None = None
    pii: dict[str, Any] | None = None
    tags: dict[str, str] | None = None


class AddValidation(RequestBody):
    """A validation report to append to a version."""

    report: dict[str, Any]


class MarkErased(RequestBody):
    """The erasure record of a version whose rows were erased."""

    erasure: dict[str, Any]


class SetDatasetAlias(RequestBody):
    """The version an alias should point at."""

    version: int


class BlobDigests(RequestBody):
    """SHA-256 digests of dataset blobs."""

    digests: list[str] = Field(max_length=MAX_BATCH_ITEMS)


class BlobRecord(RequestBody):
    """A stored blob: its digest and size."""

    digest: str
    size: int


class RecordBlobs(RequestBody):
    """Blobs to record as stored."""

    blobs: list[BlobRecord] = Field(max_length=MAX_BATCH_ITEMS)


class MissingBlobs(BaseModel):
    """The digests asked about that are not recorded, sorted."""

    missing: list[str]


class ArtifactRoot(BaseModel):
    """Where dataset blobs are stored, as an artifact URI."""

    artifact_root: str


class RunIds(BaseModel):
    """Ids of runs, sorted."""

    run_ids: list[str]


@router.get("/datasets")
def search_datasets(
    store: DataDep, max_results: int = 100, page_token: str | None = None, name_like: str | None = None
) -> DatasetPage:
    """One page of datasets by name, optionally those matching a case-sensitive LIKE pattern."""
    page = store.search_datasets(max_results, page_token, name_like)
    return DatasetPage(datasets=[DatasetSummaryModel.of(s) for s in page], next_page_token=page.token)


@router.post(_DATASET + "/versions")
def create_dataset_version(
    name: str, request: Request, body: CreateDatasetVersion, store: DataDep
) -> CreatedDatasetVersion:
    """Store a new version, or return the READY version that already has this digest and storage."""
    version, created = store.create_dataset_version(body.draft(name), request_actor(request, body.created_by))
    return CreatedDatasetVersion(dataset_version=DatasetVersionModel.of(version), created=created)


@router.get(_DATASET + "/versions")
def search_dataset_versions(
    name: str, store: DataDep, max_results: int = 100, page_token: str | None = None
) -> DatasetVersionPage:
    """One page of the dataset's versions, newest first."""
    page = store.search_dataset_versions(name, max_results, page_token)
    return DatasetVersionPage(
        dataset_versions=[DatasetVersionModel.of(v) for v in page], next_page_token=page.token
    )


@router.get(_DATASET + "/latest")
def latest_dataset_version(name: str, store: DataDep) -> DatasetVersionModel:
    """The highest READY version of the dataset."""
    return DatasetVersionModel.of(store.latest_dataset_version(name))


@router.get(_DATASET + "/find")
def find_dataset_version(
    name: str, digest: str, storage: DatasetStorage, store: DataDep
) -> FoundDatasetVersion:
    """The newest READY version with this digest and storage, or null."""
    found = store.find_dataset_version(name, digest, storage)
    return FoundDatasetVersion(dataset_version=None if found is None else DatasetVersionModel.of(found))


@router.get(_VERSION)
def get_dataset_version(name: str, version: str, store: DataDep) -> DatasetVersionModel:
    """One version of the dataset."""
    return DatasetVersionModel.of(store.get_dataset_version(name, parse_version(version)))


@router.post(_VERSION + "/update")
def update_dataset_version(
    name: str, version: str, body: UpdateDatasetVersion, store: DataDep
) -> DatasetVersionModel:
    """Replace the version's description, PII findings or tags (null fields stay as they are)."""
    updated = store.update_dataset_version(
        name, parse_version(version), description=body.description, pii=body.pii, tags=body.tags
    )
    return DatasetVersionModel.of(updated)


@router.post(_VERSION + "/validations", status_code=204)
def add_dataset_validation(name: str, version: str, body: AddValidation, store: DataDep) -> None:
    """Append a validation report to the version."""
    store.add_dataset_validation(name, parse_version(version), body.report)


@router.post(_VERSION + "/erase")
def mark_dataset_version_erased(
    name: str, version: str, body: MarkErased, store: DataDep
) -> DatasetVersionModel:
    """Mark the version ERASED with this record; aliases pointing at it are removed."""
    return DatasetVersionModel.of(
        store.mark_dataset_version_erased(name, parse_version(version), body.erasure)
    )


@router.post(_DATASET + "/aliases/{alias}", status_code=204)
def set_dataset_alias(name: str, alias: str, body: SetDatasetAlias, store: DataDep) -> None:
    """Point the alias at a READY version, moving it if set."""
    store.set_dataset_alias(name, alias, parse_version(body.version))


@router.delete(_DATASET + "/aliases/{alias}", status_code=204)
def delete_dataset_alias(name: str, alias: str, store: DataDep) -> None:
    """Remove the alias; 404 if it is not set."""
    store.delete_dataset_alias(name, alias)


@router.get(_DATASET + "/aliases/{alias}")
def get_dataset_version_by_alias(name: str, alias: str, store: DataDep) -> DatasetVersionModel:
    """The version the alias points at."""
    return DatasetVersionModel.of(store.get_dataset_version_by_alias(name, alias))


@router.get(_DATASET + "/runs")
def runs_using_dataset(name: str, digest: str, store: DataDep) -> RunIds:
    """Ids of runs that logged an input with this dataset name and digest."""
    return RunIds(run_ids=store.runs_using_dataset(name, digest))


@router.post("/dataset-blobs/missing")
def missing_dataset_blobs(body: BlobDigests, store: DataDep) -> MissingBlobs:
    """The digests among these that are not recorded as stored."""
    return MissingBlobs(missing=sorted(store.missing_dataset_blobs(body.digests)))


@router.post("/dataset-blobs/record", status_code=204)
def record_dataset_blobs(body: RecordBlobs, store: DataDep) -> None:
    """Record blobs as stored; recording one again changes nothing."""
    store.record_dataset_blobs([(blob.digest, blob.size) for blob in body.blobs])


@router.post("/dataset-blobs/forget", status_code=204)
def forget_dataset_blobs(body: BlobDigests, store: DataDep) -> None:
    """Drop digests from the record; unknown ones are ignored."""
    store.forget_dataset_blobs(body.digests)


@router.get("/dataset-blobs/root")
def dataset_artifact_root(store: DataDep) -> ArtifactRoot:
    """The artifact URI under which dataset blobs are stored (the artifact proxy, for a server)."""
    return ArtifactRoot(artifact_root=store.dataset_artifact_root())
