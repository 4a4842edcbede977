"""Logged-model operations of the RestStore, over the native API's `/api/v1/logged-models` resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cairn.entities import LoggedModel, LoggedModelStatus, PagedList
from cairn.errors import InvalidArgument
from cairn.store.rest.paths import API, run_path, segment
from cairn.store.rest.registry_json import logged_model_from_json, page_from_json
from cairn.store.rest.session import HttpSession


def logged_model_path(model_id: str, *rest: str) -> str:
    """`/api/v1/logged-models/{id}/...`, the id escaped as one path segment."""
    if not isinstance(model_id, str) or not model_id:
        raise InvalidArgument(f"model_id must be a non-empty string; got {model_id!r}")
    return "/".join([API, "logged-models", segment(model_id), *rest])


class RestLoggedModels:
    """MLflow 3's logged models and run outputs on a Cairn server."""

    _http: HttpSession

    def create_logged_model(
        self,
        experiment_id: str,
        name: str,
        source_run_id: str | None = None,
        model_type: str = "",
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model with a fresh `m-<hex>` id and its artifact location."""
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "source_run_id": source_run_id,
            "model_type": model_type,
            "params": dict(params or {}),
            "tags": dict(tags or {}),
        }
        response = self._http.request("POST", f"{API}/logged-models", idempotent=False, json=body)
        return logged_model_from_json(response.json())

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Return the logged model; `NotFound` naming it if absent or deleted."""
        response = self._http.request("GET", logged_model_path(model_id), idempotent=True)
        return logged_model_from_json(response.json())

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set the upload status (READY or UPLOAD_FAILED)."""
        body = {"status": LoggedModelStatus(status).value}
        response = self._http.request("PATCH", logged_model_path(model_id), idempotent=True, json=body)
        return logged_model_from_json(response.json())

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete the logged model."""
        self._http.request("DELETE", logged_model_path(model_id), idempotent=False)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> LoggedModel:
        """Set or replace tags on the logged model."""
        path = logged_model_path(model_id, "tags")
        response = self._http.request("PATCH", path, idempotent=True, json={"tags": dict(tags)})
        return logged_model_from_json(response.json())

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag; `NotFound` if there is no such tag."""
        self._http.request("DELETE", logged_model_path(model_id, "tags", segment(key)), idempotent=False)

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Record parameters on the logged model (a key, once set, keeps its value)."""
        path = logged_model_path(model_id, "params")
        self._http.request("POST", path, idempotent=True, json={"params": dict(params)})

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = 50,
        order_by: Sequence[tuple[str, bool]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of logged models; `order_by` holds (field, ascending) pairs."""
        if isinstance(experiment_ids, str):
            raise InvalidArgument("experiment_ids must be a list of ids, not a single string")
        body = {
            "experiment_ids": list(experiment_ids),
            "filter_string": filter_string,
            "max_results": max_results,
            "order_by": [
                {"field_name": field, "ascending": ascending} for field, ascending in order_by or ()
            ],
            "page_token": page_token,
        }
        response = self._http.request("POST", f"{API}/logged-models/search", idempotent=True, json=body)
        return page_from_json(response.json(), "models", logged_model_from_json)

    def log_run_outputs(self, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        """Record (model_id, step) pairs as outputs of the run."""
        body = {"outputs": [{"model_id": model_id, "step": step} for model_id, step in outputs]}
        self._http.request("POST", run_path(run_id, "outputs"), idempotent=True, json=body)

    def get_run_outputs(self, run_id: str) -> list[tuple[str, int]]:
        """The (model_id, step) outputs recorded for the run."""
        body = self._http.request("GET", run_path(run_id, "outputs"), idempotent=True).json()
        return [(str(item["model_id"]), int(item["step"])) for item in body["outputs"]]
