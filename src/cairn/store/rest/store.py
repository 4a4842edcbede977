"""RestStore: the tracking, purge, registry and dataset protocols over HTTP to a Cairn server's native API."""

from __future__ import annotations

from collections.abc import Sequence

from cairn.entities import ArtifactInfo, MetricHistory
from cairn.store.rest.datasets import RestDatasets
from cairn.store.rest.experiments import RestExperiments
from cairn.store.rest.ingest import MAX_INGEST_BODY_BYTES, MetricSender
from cairn.store.rest.json_entities import artifact_info_from_json, artifact_info_to_json
from cairn.store.rest.paths import run_path, segment
from cairn.store.rest.registry import RestRegistry
from cairn.store.rest.runs import RestRuns
from cairn.store.rest.session import HttpOptions, HttpSession, check_base_url
from cairn.store.wire_format import HISTORY_CONTENT_TYPE, MetricColumns, decode_history

# Records are upserts, so a long list may go in several requests; each stays well under the server's cap.
RECORDS_PER_REQUEST = 5000


class RestStore(RestExperiments, RestRuns, RestRegistry, RestDatasets):
    """A tracking store that is a Cairn server: `cairn.set_tracking_uri("http://host:5000")` uses one.

    Errors come back as the CairnError the server raised (`NotFound`, `AlreadyExists`, `InvalidArgument`,
    `Conflict`, `PermissionDenied`); a server that cannot be reached raises `ServerUnavailable` once the
    retries are spent. Every call is synchronous and durable on return, like the SQL store's.

    Args:
        url: The server, `http(s)://host[:port][/prefix]`.
        options: Timeouts and retry policy.
        headers: Extra headers for every request (for example `Authorization`).
        max_ingest_bytes: Largest metric ingestion body; bigger batches are sent in several chunks.
    """

    def __init__(
        self,
        url: str,
        options: HttpOptions | None = None,
        headers: dict[str, str] | None = None,
        max_ingest_bytes: int = MAX_INGEST_BODY_BYTES,
    ) -> None:
        self.url = check_base_url(url)
        self._http = HttpSession(self.url, options, headers)
        self._sender = MetricSender(self._http, max_ingest_bytes)

    def append_metric_columns(self, columns: MetricColumns) -> None:
        """Append points per (run_id, key): steps, timestamps (ms) and values.

        A batch up to `max_ingest_bytes` is applied in one transaction; a bigger one in one transaction
        per chunk. Retries reuse batch ids, so no point is ever stored twice.
        """
        self._sender.send(columns)

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Return every point logged for the metric, in logging order (empty if none)."""
        response = self._http.request(
            "GET",
            run_path(run_id, "metrics", segment(key), "history"),
            idempotent=True,
            headers={"Accept": HISTORY_CONTENT_TYPE},
        )
        return decode_history(key, response.content)

    def record_artifacts(self, run_id: str, infos: Sequence[ArtifactInfo]) -> None:
        """Store (or replace) the size and digest of these artifact files."""
        files = [artifact_info_to_json(i) for i in infos if not i.is_dir]
        path = run_path(run_id, "artifact-records")
        for start in range(0, len(files), RECORDS_PER_REQUEST):
            body = {"files": files[start : start + RECORDS_PER_REQUEST]}
            self._http.request("POST", path, idempotent=True, json=body)

    def get_artifact_records(self, run_id: str, prefix: str = "") -> dict[str, ArtifactInfo]:
        """Return recorded files under `prefix`, keyed by path."""
        params = {"prefix": prefix} if prefix else None
        response = self._http.request(
            "GET", run_path(run_id, "artifact-records"), idempotent=True, params=params
        )
        records = (artifact_info_from_json(item) for item in response.json()["files"])
        return {info.path: info for info in records}

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __repr__(self) -> str:
        return f"RestStore({self.url!r})"
