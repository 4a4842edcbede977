"""The fluent API: module functions acting on the active run, with the names MLflow users know."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cairn.entities import ArtifactInfo, Experiment, LifecycleStage, MetricHistory, Run, RunStatus, ViewType
from cairn.errors import AlreadyExists, InvalidArgument, NotFound
from cairn.tracking import uri as _uri
from cairn.tracking.active_run import ActiveRun, end_run_object, local_state, push, run_stack
from cairn.tracking.client import TrackingClient

if TYPE_CHECKING:
    import pandas as pd

_client_lock = threading.Lock()
_client: TrackingClient | None = None
_experiment_id: str | None = None
DEFAULT_EXPERIMENT_ID = "0"
SEARCH_ALL_MAX_RESULTS = 100_000


def _default_client() -> TrackingClient:
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = TrackingClient()
            client = _client
    return client


def set_tracking_uri(uri: str | Path | None) -> None:
    """Set where runs are stored: a folder, `sqlite:///...` or `postgresql://...` (None: the default)."""
    global _client, _experiment_id
    _uri.set_tracking_uri(uri)
    with _client_lock:
        _client = None
        _experiment_id = None


def get_tracking_uri() -> str:
    """The tracking URI in force."""
    return _uri.get_tracking_uri()


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the active one, creating it by name if it does not exist."""
    global _experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidArgument("give exactly one of experiment_name and experiment_id")
    client = _default_client()
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    else:
        assert experiment_name is not None
        experiment = _get_or_create_experiment(client, experiment_name)
    if experiment.lifecycle_stage is LifecycleStage.DELETED:
        raise InvalidArgument(f"experiment {experiment.name!r} is deleted; restore it or choose another name")
    _experiment_id = experiment.experiment_id
    return experiment


def _get_or_create_experiment(client: TrackingClient, name: str) -> Experiment:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found
    try:
        return client.get_experiment(client.create_experiment(name))
    except AlreadyExists:  # another process created it between our look-up and our insert
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found


def _resolve_experiment_id(client: TrackingClient) -> str:
    if _experiment_id is not None:
        return _experiment_id
    if name := os.environ.get("CAIRN_EXPERIMENT_NAME"):
        return set_experiment(experiment_name=name).experiment_id
    if experiment_id := os.environ.get("CAIRN_EXPERIMENT_ID"):
        return client.get_experiment(experiment_id).experiment_id
    return DEFAULT_EXPERIMENT_ID


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run (or resume `run_id`) and make it active; use it as a context manager.

    Args:
        run_id: Resume this existing run instead of creating one.
        experiment_id: Experiment for a new run; defaults to the active experiment.
        run_name: A name; one is generated when omitted.
        nested: Start a child of the active run (otherwise an active run is an error).
        parent_run_id: Make the new run a child of this run.
        tags: Tags to set on the new run.
        description: Stored as the `mlflow.note.content` tag.
        log_system_metrics: Sample CPU, memory, disk, network (and GPU) while the run is active.
    """
    client = _default_client()
    stack = run_stack()
    if stack and not nested:
        raise InvalidArgument(
            f"run {stack[-1].run_id} is already active; end it first or pass nested=True to start a child run"
        )
    parent = parent_run_id or (stack[-1].run_id if nested and stack else None)
    if run_id is not None:
        run = client.resume_run(run_id)
    else:
        all_tags = dict(tags or {})
        if description:
            all_tags["mlflow.note.content"] = description
        run = client.create_run(
            experiment_id or _resolve_experiment_id(client),
            tags=all_tags,
            run_name=run_name,
            parent_run_id=parent,
        )
    active = ActiveRun(run, client, _start_sampler(client, run.info.run_id, log_system_metrics))
    push(active)
    return active


def _start_sampler(client: TrackingClient, run_id: str, wanted: bool | None) -> Any:
    if not (client.settings.system_metrics if wanted is None else wanted):
        return None
    from cairn.tracking.system_metrics import SystemMetricsSampler

    step = iter(range(1 << 62))

    def emit(values: dict[str, float], timestamp: int) -> None:
        client.log_metrics(run_id, values, step=next(step), timestamp=timestamp)

    sampler = SystemMetricsSampler(emit, interval=client.settings.system_metrics_interval)
    sampler.start()
    return sampler


def end_run(status: RunStatus | str = "FINISHED") -> None:
    """End the active run (innermost first) with the given status; does nothing when none is active."""
    final = RunStatus.parse(status)
    stack = run_stack()
    if stack:
        end_run_object(stack[-1], final)


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread, or None."""
    stack = run_stack()
    return stack[-1] if stack else None


def _run_id(run_id: str | None = None) -> str:
    if run_id is not None:
        return run_id
    stack = run_stack()
    if stack:
        return stack[-1].run_id
    return start_run().run_id


def log_param(key: str, value: Any) -> Any:
    """Log a parameter of the active run (started if there is none); returns the value."""
    return _default_client().log_param(_run_id(), key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log several parameters of the active run."""
    _default_client().log_params(_run_id(), params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None, run_id: str | None = None
) -> None:
    """Log a metric point; it is buffered and written in the background (see `flush`)."""
    if run_id is None:
        stack = getattr(local_state, "stack", None)
        run_id = stack[-1].run_id if stack else _run_id()
    (_client or _default_client()).log_metric(run_id, key, value, step, timestamp)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> None:
    """Log one point of each of several metrics."""
    _default_client().log_metrics(_run_id(run_id), metrics, step, timestamp)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _default_client().set_tag(_run_id(), key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run."""
    _default_client().set_tags(_run_id(), tags)


def delete_tag(key: str) -> None:
    """Remove a tag from the active run."""
    _default_client().delete_tag(_run_id(), key)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> None:
    """Store a local file or folder in the active run's artifacts."""
    _default_client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> None:
    """Store the contents of a local folder in the active run's artifacts."""
    _default_client().log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    """Store text as an artifact file of the active run."""
    _default_client().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> None:
    """Store a dict as JSON or YAML (by the file's suffix) in the active run's artifacts."""
    _default_client().log_dict(_run_id(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Store a matplotlib figure in the active run's artifacts."""
    _default_client().log_figure(_run_id(), figure, artifact_file)


def log_image(image: Any, artifact_file: str) -> None:
    """Store a numpy array or PIL image in the active run's artifacts."""
    _default_client().log_image(_run_id(), image, artifact_file)


def log_table(data: Any, artifact_file: str) -> None:
    """Store a DataFrame as Parquet (or JSON) in the active run's artifacts."""
    _default_client().log_table(_run_id(), data, artifact_file)


def list_artifacts(path: str | None = None, run_id: str | None = None) -> list[ArtifactInfo]:
    """List artifacts of a run (the active one by default) directly under `path`."""
    return _default_client().list_artifacts(_run_id(run_id), path)


def download_artifacts(
    artifact_path: str = "", run_id: str | None = None, dst_path: str | Path | None = None
) -> str:
    """Download a run's artifact file or folder and return the local path."""
    return _default_client().download_artifacts(_run_id(run_id), artifact_path, dst_path)


def get_run(run_id: str) -> Run:
    """Return a run by id."""
    return _default_client().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> MetricHistory:
    """Every point of a metric of a run."""
    return _default_client().get_metric_history(run_id, key)


def search_experiments(
    view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Every experiment matching the filter (all pages, up to `max_results`)."""
    client = _default_client()
    limit = max_results or SEARCH_ALL_MAX_RESULTS
    found: list[Experiment] = []
    token: str | None = None
    while len(found) < limit:
        page = client.search_experiments(
            view_type, min(1000, limit - len(found)), filter_string, order_by, token
        )
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_ALL_MAX_RESULTS,
    order_by: Sequence[str] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    experiment_names: Sequence[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Runs matching the filter, across all pages up to `max_results`, as a DataFrame or a list.

    Searches the active experiment when neither `experiment_ids` nor `experiment_names` is given.
    """
    if output_format not in ("pandas", "list"):
        raise InvalidArgument(f"output_format must be 'pandas' or 'list', got {output_format!r}")
    client = _default_client()
    ids = list(experiment_ids or [])
    for name in experiment_names or []:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise NotFound(f"experiment {name!r} does not exist")
        ids.append(experiment.experiment_id)
    if not ids:
        ids = [_resolve_experiment_id(client)]
    found: list[Run] = []
    token: str | None = None
    while len(found) < max_results:
        page = client.search_runs(
            ids, filter_string, run_view_type, min(50_000, max_results - len(found)), order_by, token
        )
        found.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return found
    from cairn.tracking.run_frames import runs_to_frame

    return runs_to_frame(found)


def flush() -> None:
    """Write every buffered metric point now."""
    _default_client().flush()
