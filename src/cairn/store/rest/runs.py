"""Run operations of the RestStore, over the native API's `/api/v1/runs` resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cairn.entities import DatasetInput, Metric, PagedList, Param, Run, RunInfo, RunStatus, RunTag, ViewType
from cairn.errors import InvalidArgument
from cairn.store.rest.json_entities import (
    dataset_inputs_to_json,
    metrics_to_json,
    pairs_to_json,
    run_from_json,
    run_info_from_json,
)
from cairn.store.rest.paths import API, run_path, segment
from cairn.store.rest.session import HttpSession


class RestRuns:
    """Create runs, log params and tags, change status, search, on a Cairn server."""

    _http: HttpSession

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        run_name: str,
        tags: Sequence[RunTag] = (),
        parent_run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment."""
        body = {
            "experiment_id": experiment_id,
            "user_id": user_id,
            "start_time": start_time,
            "run_name": run_name,
            "tags": pairs_to_json(tags),
            "parent_run_id": parent_run_id,
        }
        return run_from_json(self._http.request("POST", f"{API}/runs", idempotent=False, json=body).json())

    def get_run(self, run_id: str) -> Run:
        """Return the run with its params, tags and latest metrics; `NotFound` if absent."""
        return run_from_json(self._http.request("GET", run_path(run_id), idempotent=True).json())

    def update_run(
        self,
        run_id: str,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change a run's status, end time or name and return the new info."""
        body: dict[str, Any] = {"end_time": end_time, "run_name": run_name}
        body["status"] = None if status is None else RunStatus.parse(status).value
        response = self._http.request("PATCH", run_path(run_id), idempotent=True, json=body)
        return run_info_from_json(response.json())

    def delete_run(self, run_id: str) -> None:
        """Soft-delete the run."""
        self._http.request("DELETE", run_path(run_id), idempotent=True)

    def restore_run(self, run_id: str) -> None:
        """Undo a soft delete of the run."""
        self._http.request("POST", run_path(run_id, "restore"), idempotent=True)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags in one transaction: all of it is stored, or none."""
        body = {
            "metrics": metrics_to_json(metrics),
            "params": pairs_to_json(params),
            "tags": pairs_to_json(tags),
        }
        self._http.request("POST", run_path(run_id, "log-batch"), idempotent=False, json=body)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from the run; `NotFound` if it has no such tag."""
        self._http.request("DELETE", run_path(run_id, "tags", segment(key)), idempotent=False)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets the run used; a dataset logged again is reused and its input tags merged."""
        body = {"datasets": dataset_inputs_to_json(datasets)}
        self._http.request("POST", run_path(run_id, "inputs"), idempotent=True, json=body)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Return one page of runs of the given experiments that match the filter."""
        if isinstance(experiment_ids, str):
            raise InvalidArgument("experiment_ids must be a list of ids, not a single string")
        body = {
            "experiment_ids": list(experiment_ids),
            "filter_string": filter_string,
            "view_type": ViewType.parse(view_type).value,
            "max_results": max_results,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        page = self._http.request("POST", f"{API}/runs/search", idempotent=True, json=body).json()
        return PagedList([run_from_json(item) for item in page["runs"]], page.get("next_page_token"))

    def record_heartbeat(self, run_ids: Sequence[str], now: int) -> None:
        """Note that the processes driving these runs are alive at `now` (ms)."""
        if run_ids:
            body = {"run_ids": list(run_ids), "now": now}
            self._http.request("POST", f"{API}/runs/heartbeat", idempotent=True, json=body)

    def fail_stale_runs(self, timeout_ms: int, now: int) -> list[str]:
        """Mark RUNNING runs whose last heartbeat is older than `timeout_ms` as FAILED; return their ids."""
        body = {"timeout_ms": timeout_ms, "now": now}
        response = self._http.request("POST", f"{API}/runs/fail-stale", idempotent=True, json=body)
        return [str(run_id) for run_id in response.json()["run_ids"]]

    def find_deleted_runs(self, older_than_ms: int | None = None) -> list[tuple[str, str]]:
        """Return (run_id, artifact_uri) of deleted runs (with `older_than_ms`: deleted that long ago)."""
        params = {} if older_than_ms is None else {"older_than_ms": older_than_ms}
        response = self._http.request("GET", f"{API}/runs/deleted", idempotent=True, params=params)
        return [(item["run_id"], item["artifact_uri"]) for item in response.json()["runs"]]

    def purge_runs(self, run_ids: Sequence[str]) -> None:
        """Delete these deleted runs and all their rows for good; `InvalidArgument` for an active run."""
        if isinstance(run_ids, str):
            raise InvalidArgument("run_ids must be a list of ids, not a single string")
        self._http.request("POST", f"{API}/runs/purge", idempotent=False, json={"run_ids": list(run_ids)})
