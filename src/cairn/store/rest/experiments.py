"""Experiment operations of the RestStore, over the native API's `/api/v1/experiments` resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cairn.entities import Experiment, PagedList, ViewType
from cairn.errors import InvalidArgument, NotFound
from cairn.store.rest.json_entities import experiment_from_json
from cairn.store.rest.paths import API, experiment_path, segment
from cairn.store.rest.session import HttpSession


class RestExperiments:
    """Create, find, search and change experiments on a Cairn server."""

    _http: HttpSession

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id; `AlreadyExists` if the name is taken.

        The server chooses artifact locations; it refuses an `artifact_location` with `InvalidArgument`.
        """
        body = {"name": name, "artifact_location": artifact_location, "tags": dict(tags or {})}
        response = self._http.request("POST", f"{API}/experiments", idempotent=False, json=body)
        return str(response.json()["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return the experiment; `NotFound` if there is none with that id."""
        response = self._http.request("GET", experiment_path(experiment_id), idempotent=True)
        return experiment_from_json(response.json())

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with that name (active or deleted), or None."""
        try:
            response = self._http.request(
                "GET", f"{API}/experiments/by-name", idempotent=True, params={"name": name}
            )
        except NotFound:
            return None
        return experiment_from_json(response.json())

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Return one page of experiments matching the filter."""
        body = {
            "view_type": ViewType.parse(view_type).value,
            "max_results": max_results,
            "filter_string": filter_string,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        page = self._http.request("POST", f"{API}/experiments/search", idempotent=True, json=body).json()
        return PagedList(
            [experiment_from_json(item) for item in page["experiments"]], page.get("next_page_token")
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give the experiment a new, unused name."""
        self._http.request("PATCH", experiment_path(experiment_id), idempotent=True, json={"name": new_name})

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete the experiment and its runs."""
        self._http.request("DELETE", experiment_path(experiment_id), idempotent=True)

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo a soft delete of the experiment and its runs."""
        self._http.request("POST", experiment_path(experiment_id, "restore"), idempotent=True)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Set or replace a tag on the experiment."""
        path = experiment_path(experiment_id, "tags", segment(key))
        self._http.request("PUT", path, idempotent=True, json={"value": value})

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from the experiment; `NotFound` if it has no such tag."""
        self._http.request("DELETE", experiment_path(experiment_id, "tags", segment(key)), idempotent=False)

    def purge_experiments(self, experiment_ids: Sequence[str]) -> None:
        """Delete these deleted experiments for good; `InvalidArgument` if one is active or has runs."""
        if isinstance(experiment_ids, str):
            raise InvalidArgument("experiment_ids must be a list of ids, not a single string")
        body = {"experiment_ids": list(experiment_ids)}
        self._http.request("POST", f"{API}/experiments/purge", idempotent=False, json=body)
