"""Lineage of a model: version -> logged model -> source run -> its datasets and code version, and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cairn.entities import DatasetInput, Run
from cairn.entities.registry import LoggedModel, ModelVersion
from cairn.errors import NotFound
from cairn.registry.client import RegistryClient
from cairn.registry.model_uris import LoggedModelUri, RunModelUri, parse_model_uri

CODE_TAGS = {
    "mlflow.source.git.commit": "commit",
    "mlflow.source.git.branch": "branch",
    "mlflow.source.git.repoURL": "repository",
    "mlflow.source.name": "entry_point",
    "cairn.git.dirty": "dirty",
}
"""Run tags that record the code version, and the names lineage shows them under."""


@dataclass(frozen=True)
class Lineage:
    """Where a model came from, and what else came from the same run.

    Attributes:
        version: The registered version the URI named (None for `runs:/` and `models:/m-...` URIs).
        logged_model: The logged model the files belong to, when known.
        run: The run that produced the model, when known and still stored.
        datasets: The datasets that run recorded as inputs.
        code: The code version recorded on the run (commit, branch, repository, entry point, dirty).
        sibling_versions: Every registered version made from the same run (the reverse direction).
    """

    version: ModelVersion | None
    logged_model: LoggedModel | None
    run: Run | None
    datasets: tuple[DatasetInput, ...] = ()
    code: Mapping[str, str] = field(default_factory=dict)
    sibling_versions: tuple[ModelVersion, ...] = ()


def lineage_of(client: RegistryClient, model_uri: str) -> Lineage:
    """Follow a `runs:/` or `models:/` URI back to its run, datasets and code version."""
    target = parse_model_uri(model_uri)
    version: ModelVersion | None = None
    logged: LoggedModel | None = None
    run_id: str | None
    if isinstance(target, RunModelUri):
        run_id = target.run_id
    elif isinstance(target, LoggedModelUri):
        logged = client.get_logged_model(target.model_id)
        run_id = logged.source_run_id
    else:
        version = client.model_version_for(target)
        run_id = version.run_id
        if version.model_id:
            logged = _find_logged_model(client, version.model_id)
    run = _find_run(client, run_id) if run_id else None
    return Lineage(
        version=version,
        logged_model=logged,
        run=run,
        datasets=run.inputs.dataset_inputs if run else (),
        code=code_version_of(run) if run else {},
        sibling_versions=tuple(client.versions_for_run(run_id)) if run_id else (),
    )


def code_version_of(run: Run) -> dict[str, str]:
    """The code version a run recorded, keyed by CODE_TAGS' short names."""
    return {short: run.data.tags[tag] for tag, short in CODE_TAGS.items() if tag in run.data.tags}


def _find_run(client: RegistryClient, run_id: str) -> Run | None:
    try:
        return client.tracking.get_run(run_id)
    except NotFound:
        return None


def _find_logged_model(client: RegistryClient, model_id: str) -> LoggedModel | None:
    try:
        return client.get_logged_model(model_id)
    except NotFound:
        return None
