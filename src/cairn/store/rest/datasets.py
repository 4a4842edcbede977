"""RestDatasets: the DataStore protocol over HTTP to a Cairn server's native `/api/v1/datasets` API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cairn._internal.dataset_validation import (
    MAX_ERASURE_CHARS,
    MAX_PII_CHARS,
    MAX_PROFILE_CHARS,
    MAX_REPORT_CHARS,
    MAX_SCHEMA_CHARS,
    json_text,
    optional_json_text,
    validate_dataset_name,
)
from cairn._internal.registry_validation import validate_alias
from cairn.entities import PagedList
from cairn.entities.dataset_version import (
    DatasetStorage,
    DatasetSummary,
    DatasetVersion,
    DatasetVersionDraft,
    DatasetVersionStatus,
)
from cairn.errors import CairnError, InvalidArgument
from cairn.store.rest.paths import API, segment
from cairn.store.rest.registry_json import page_from_json
from cairn.store.rest.session import HttpSession

BLOBS_PER_REQUEST = 10_000
"""Digests per blob request; the server refuses longer lists."""


def dataset_path(name: str, *rest: str) -> str:
    """`/api/v1/datasets/{name}/...`, the name checked and escaped as one path segment."""
    return "/".join([API, "datasets", segment(validate_dataset_name(name)), *rest])


def alias_path(name: str, alias: str) -> str:
    """`/api/v1/datasets/{name}/aliases/{alias}`, the alias checked first (it must stay one segment)."""
    return dataset_path(name, "aliases", segment(validate_alias(alias)))


def dataset_version_path(name: str, version: int, *rest: str) -> str:
    """`/api/v1/datasets/{name}/versions/{version}/...`."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidArgument(f"version must be a whole number from 1; got {version!r}")
    return dataset_path(name, "versions", str(version), *rest)


def draft_to_json(draft: DatasetVersionDraft, created_by: str) -> dict[str, Any]:
    """The create request body of a draft (its name goes in the path)."""
    if not isinstance(draft, DatasetVersionDraft):
        raise InvalidArgument(f"draft must be a DatasetVersionDraft, got {type(draft).__name__}")
    # Checked here too, so that a value JSON cannot carry (NaN, a set) is refused with the store's message.
    json_text("schema", draft.schema, MAX_SCHEMA_CHARS)
    optional_json_text("profile", draft.profile, MAX_PROFILE_CHARS)
    optional_json_text("pii", draft.pii, MAX_PII_CHARS)
    return {
        "digest": draft.digest,
        "row_count": draft.row_count,
        "schema": draft.schema,
        "profile": draft.profile,
        "source": draft.source,
        "source_type": draft.source_type,
        "storage": DatasetStorage.parse(draft.storage).value,
        "manifest_digest": draft.manifest_digest,
        "file_count": draft.file_count,
        "size_bytes": draft.size_bytes,
        "description": draft.description,
        "tags": dict(draft.tags),
        "pii": draft.pii,
        "derived_from": draft.derived_from,
        "created_by": created_by,
    }


def dataset_version_from_json(body: dict[str, Any]) -> DatasetVersion:
    """A DatasetVersion from its JSON object."""
    try:
        derived = body.get("derived_from")
        return DatasetVersion(
            name=body["name"],
            version=int(body["version"]),
            digest=body["digest"],
            row_count=int(body["row_count"]),
            schema=dict(body["schema"]),
            profile=body.get("profile"),
            source=body["source"],
            source_type=body["source_type"],
            storage=DatasetStorage(body["storage"]),
            manifest_digest=body["manifest_digest"],
            file_count=int(body["file_count"]),
            size_bytes=int(body["size_bytes"]),
            created_by=body["created_by"],
            creation_time=int(body["creation_time"]),
            description=body.get("description"),
            tags=dict(body.get("tags") or {}),
            pii=body.get("pii"),
            derived_from=None if derived is None else int(derived),
            aliases=tuple(body.get("aliases") or ()),
            status=DatasetVersionStatus(body["status"]),
            validations=tuple(body.get("validations") or ()),
            erasure=body.get("erasure"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CairnError(
            f"the server sent a malformed dataset version: {type(error).__name__} {error}"
        ) from None


def dataset_summary_from_json(body: dict[str, Any]) -> DatasetSummary:
    """A DatasetSummary from its JSON object."""
    try:
        return DatasetSummary(
            name=body["name"],
            description=body.get("description"),
            creation_time=int(body["creation_time"]),
            last_updated_time=int(body["last_updated_time"]),
            latest_version=int(body["latest_version"]),
            aliases={alias: int(number) for alias, number in (body.get("aliases") or {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CairnError(f"the server sent a malformed dataset: {type(error).__name__} {error}") from None


def _digest_list(digests: Sequence[str]) -> list[str]:
    if isinstance(digests, str) or not isinstance(digests, Sequence):
        raise InvalidArgument("digests must be a list of SHA-256 digests, not a single string")
    return list(dict.fromkeys(digests))


class RestDatasets:
    """Dataset versions, aliases, blob bookkeeping and lineage on a Cairn server."""

    _http: HttpSession

    def create_dataset_version(
        self, draft: DatasetVersionDraft, created_by: str
    ) -> tuple[DatasetVersion, bool]:
        """Store the draft as the next version; the existing version and False for known content."""
        body = draft_to_json(draft, created_by)
        # A retry after a lost answer finds the version it created and returns it (deduplicated), so the
        # request is safe to repeat.
        response = self._http.request(
            "POST", dataset_path(draft.name, "versions"), idempotent=True, json=body
        )
        answer = response.json()
        return dataset_version_from_json(answer["dataset_version"]), bool(answer["created"])

    def find_dataset_version(self, name: str, digest: str, storage: DatasetStorage) -> DatasetVersion | None:
        """The newest READY version with this digest and storage, or None (also for an unknown name)."""
        params = {"digest": digest, "storage": DatasetStorage.parse(storage).value}
        found = self._dataset_get(dataset_path(name, "find"), params)["dataset_version"]
        return None if found is None else dataset_version_from_json(found)

    def get_dataset_version(self, name: str, version: int) -> DatasetVersion:
        """The version; `NotFound` naming dataset and version if absent."""
        return dataset_version_from_json(self._dataset_get(dataset_version_path(name, version)))

    def latest_dataset_version(self, name: str) -> DatasetVersion:
        """The highest READY version; `NotFound` naming the dataset if there is none."""
        return dataset_version_from_json(self._dataset_get(dataset_path(name, "latest")))

    def search_dataset_versions(
        self, name: str, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[DatasetVersion]:
        """One page of the dataset's versions, newest first; `NotFound` for an unknown dataset."""
        params: dict[str, Any] = {"max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        page = self._dataset_get(dataset_path(name, "versions"), params)
        return page_from_json(page, "dataset_versions", dataset_version_from_json)

    def search_datasets(
        self, max_results: int = 100, page_token: str | None = None, name_like: str | None = None
    ) -> PagedList[DatasetSummary]:
        """One page of datasets by name, optionally those matching a case-sensitive LIKE pattern."""
        params: dict[str, Any] = {"max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        if name_like is not None:
            params["name_like"] = name_like
        page = self._dataset_get(f"{API}/datasets", params)
        return page_from_json(page, "datasets", dataset_summary_from_json)

    def update_dataset_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        pii: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> DatasetVersion:
        """Replace the fields given (not None) and return the version."""
        optional_json_text("pii", pii, MAX_PII_CHARS)
        body = {"description": description, "pii": pii, "tags": None if tags is None else dict(tags)}
        path = dataset_version_path(name, version, "update")
        return dataset_version_from_json(self._http.request("POST", path, idempotent=True, json=body).json())

    def add_dataset_validation(self, name: str, version: int, report: dict[str, Any]) -> None:
        """Append a validation report to the version."""
        json_text("report", report, MAX_REPORT_CHARS)
        path = dataset_version_path(name, version, "validations")
        self._http.request("POST", path, idempotent=False, json={"report": report})

    def mark_dataset_version_erased(self, name: str, version: int, erasure: dict[str, Any]) -> DatasetVersion:
        """Set the version ERASED with this erasure record, removing the aliases that point at it."""
        json_text("erasure", erasure, MAX_ERASURE_CHARS)
        path = dataset_version_path(name, version, "erase")
        answer = self._http.request("POST", path, idempotent=True, json={"erasure": erasure})
        return dataset_version_from_json(answer.json())

    def set_dataset_alias(self, name: str, alias: str, version: int) -> None:
        """Point the alias at a READY version (moving it if set); reserved names are refused."""
        path = alias_path(name, alias)
        self._http.request("POST", path, idempotent=True, json={"version": version})

    def delete_dataset_alias(self, name: str, alias: str) -> None:
        """Remove the alias; `NotFound` naming dataset and alias if it is not set."""
        self._http.request("DELETE", alias_path(name, alias), idempotent=False)

    def get_dataset_version_by_alias(self, name: str, alias: str) -> DatasetVersion:
        """The version the alias points at; `NotFound` naming dataset and alias otherwise."""
        return dataset_version_from_json(self._dataset_get(alias_path(name, alias)))

    def missing_dataset_blobs(self, digests: Sequence[str]) -> set[str]:
        """The digests among these that are not recorded as stored (one request per 10,000)."""
        wanted = _digest_list(digests)
        missing: set[str] = set()
        for start in range(0, len(wanted), BLOBS_PER_REQUEST):
            body = {"digests": wanted[start : start + BLOBS_PER_REQUEST]}
            answer = self._http.request("POST", f"{API}/dataset-blobs/missing", idempotent=True, json=body)
            missing.update(answer.json()["missing"])
        return missing

    def record_dataset_blobs(self, blobs: Sequence[tuple[str, int]]) -> None:
        """Record (digest, size) pairs as stored; recording one again changes nothing."""
        if isinstance(blobs, str) or not isinstance(blobs, Sequence):
            raise InvalidArgument("blobs must be a list of (digest, size) pairs")
        items = [{"digest": pair[0], "size": pair[1]} for pair in blobs]
        for start in range(0, len(items), BLOBS_PER_REQUEST):
            body = {"blobs": items[start : start + BLOBS_PER_REQUEST]}
            self._http.request("POST", f"{API}/dataset-blobs/record", idempotent=True, json=body)

    def forget_dataset_blobs(self, digests: Sequence[str]) -> None:
        """Drop these digests from the record; unknown ones are ignored."""
        wanted = _digest_list(digests)
        for start in range(0, len(wanted), BLOBS_PER_REQUEST):
            body = {"digests": wanted[start : start + BLOBS_PER_REQUEST]}
            self._http.request("POST", f"{API}/dataset-blobs/forget", idempotent=True, json=body)

    def dataset_artifact_root(self) -> str:
        """The server's answer: `mlflow-artifacts:/datasets`, so blobs travel through its artifact proxy."""
        root = self._dataset_get(f"{API}/dataset-blobs/root")["artifact_root"]
        if not isinstance(root, str):
            raise CairnError(f"the server sent a malformed dataset artifact root: {root!r}")
        return root

    def runs_using_dataset(self, name: str, digest_prefix: str) -> list[str]:
        """Ids (sorted) of runs that logged an input with this dataset name and digest; [] when none."""
        answer = self._dataset_get(dataset_path(name, "runs"), {"digest": digest_prefix})
        return list(answer["run_ids"])

    def _dataset_get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = self._http.request("GET", path, idempotent=True, params=params).json()
        return body
