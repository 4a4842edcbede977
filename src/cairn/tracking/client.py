"""TrackingClient: the one explicit API for experiments, runs, metrics, params, tags and artifacts."""

from __future__ import annotations

import getpass
import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from time import time_ns
from typing import Any

from cairn._internal.clock import now_ms
from cairn._internal.names import generate_run_name
from cairn._internal.validation import (
    validate_key,
    validate_metric_value,
    validate_run_id,
    validate_step,
    validate_timestamp,
)
from cairn.entities import (
    DatasetInput,
    Experiment,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from cairn.errors import InvalidArgument, NotFound
from cairn.settings import Settings
from cairn.store.protocols import TrackingStore
from cairn.tracking.buffer import MetricBuffer
from cairn.tracking.client_artifacts import ArtifactMethods
from cairn.tracking.uri import get_tracking_uri, store_for

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class TrackingClient(ArtifactMethods):
    """Explicit access to a tracking store: every call names the run or experiment it acts on.

    Args:
        tracking_uri: Where runs are stored; defaults to `cairn.get_tracking_uri()`.
        settings: Configuration; defaults to the `CAIRN_*` environment variables.
        store: A store to use instead of opening one from the URI (dependency injection).
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        settings: Settings | None = None,
        store: TrackingStore | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        if store is not None:
            self.tracking_uri = tracking_uri or "<injected store>"
            self._store = store
            self._buffer = MetricBuffer(store, self.settings.flush_interval, self.settings.heartbeat_interval)
        else:
            self.tracking_uri = tracking_uri or get_tracking_uri(self.settings)
            handle = store_for(self.tracking_uri, self.settings)
            self._store, self._buffer = handle.store, handle.buffer
        self._valid_keys: set[str] = set()
        self._active_runs: set[str] = set()
        self._artifact_uris: dict[str, str] = {}

    @property
    def store(self) -> TrackingStore:
        """The metadata store this client writes to."""
        return self._store

    # Experiments

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id; `AlreadyExists` if the name is taken."""
        return self._store.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return the experiment; `NotFound` if it does not exist."""
        return self._store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with that name, or None."""
        return self._store.find_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Return one page of experiments; see the search grammar in the docs."""
        return self._store.search_experiments(
            ViewType.parse(view_type), max_results, filter_string, order_by, page_token
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment."""
        self._store.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs (restorable until `cairn gc`)."""
        self._store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment and its runs."""
        self._store.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment."""
        self._store.set_experiment_tag(experiment_id, key, str(value))

    # Runs

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run, recording code version and environment as the settings ask."""
        from cairn.tracking.run_context import capture_run_context

        context = capture_run_context(self.settings)
        all_tags = {**context.tags, **{k: str(v) for k, v in (tags or {}).items()}}
        run = self._store.create_run(
            experiment_id,
            user_id=_current_user(),
            start_time=start_time if start_time is not None else now_ms(),
            run_name=run_name or generate_run_name(),
            tags=[RunTag(k, v) for k, v in all_tags.items()],
            parent_run_id=parent_run_id,
        )
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        self._active_runs.add(run.info.run_id)
        self._buffer.track_run(run.info.run_id)
        if context.artifacts:
            artifacts = self.artifact_store(run.info.run_id)
            infos = [artifacts.log_bytes(data, path) for path, data in context.artifacts.items()]
            self._store.record_artifacts(run.info.run_id, infos)
        return run

    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, tags and latest metrics (after flushing buffered points)."""
        self._buffer.flush()
        return self._store.get_run(run_id)

    def resume_run(self, run_id: str) -> Run:
        """Mark an existing run RUNNING again and send heartbeats for it."""
        run = self._store.get_run(run_id)
        if run.info.status is not RunStatus.RUNNING:
            self._store.update_run(run_id, status=RunStatus.RUNNING)
            run = self._store.get_run(run_id)
        self._active_runs.add(run_id)
        self._buffer.track_run(run_id)
        self._store.record_heartbeat([run_id], now_ms())
        return run

    def update_run(
        self, run_id: str, status: RunStatus | str | None = None, name: str | None = None
    ) -> RunInfo:
        """Change a run's status or name."""
        return self._store.update_run(run_id, RunStatus.parse(status) if status else None, None, name)

    def set_terminated(
        self, run_id: str, status: RunStatus | str = "FINISHED", end_time: int | None = None
    ) -> None:
        """End a run: flush its buffered metrics, then set its final status and end time."""
        final = RunStatus.parse(status)
        try:
            self._buffer.flush()
        finally:
            self._buffer.untrack_run(run_id)
            self._active_runs.discard(run_id)
        self._store.update_run(run_id, final, end_time if end_time is not None else now_ms())

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (restorable until `cairn gc`)."""
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        self._store.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Return one page of runs matching the filter (buffered metrics are flushed first)."""
        self._buffer.flush()
        return self._store.search_runs(
            experiment_ids, filter_string, ViewType.parse(run_view_type), max_results, order_by, page_token
        )

    def sweep_stale_runs(self) -> list[str]:
        """Mark RUNNING runs with no heartbeat for `heartbeat_timeout` seconds as FAILED; return their ids."""
        return self._store.fail_stale_runs(int(self.settings.heartbeat_timeout * 1000), now_ms())

    # Params, tags and metrics

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log a parameter; logging a different value for an existing key raises `Conflict`."""
        self._store.log_batch(run_id, params=[Param(key, _param_text(value))])
        return value

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log several parameters in one transaction."""
        self._store.log_batch(run_id, params=[Param(k, _param_text(v)) for k, v in params.items()])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set or replace a tag on a run."""
        self._store.log_batch(run_id, tags=[RunTag(key, str(value))])

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set several tags in one transaction."""
        self._store.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run."""
        self._store.delete_tag(run_id, key)

    def log_metric(
        self, run_id: str, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one metric point; it is durable after the next flush (at most `flush_interval` later)."""
        if key not in self._valid_keys:
            validate_key("metric key", key)
            self._valid_keys.add(key)
        if run_id not in self._active_runs:
            self._check_run_exists(run_id)
        if type(value) is not float:
            value = validate_metric_value(key, value)
        if step is None:
            step = 0
        elif type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = validate_step(key, step)
        if timestamp is None:
            timestamp = time_ns() // 1_000_000
        elif type(timestamp) is not int or not _INT64_MIN <= timestamp <= _INT64_MAX:
            timestamp = validate_timestamp(key, timestamp)
        self._buffer.add(run_id, key, value, timestamp, step)

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one point for each of several metrics, all with the same step and timestamp."""
        stamp = now_ms() if timestamp is None else timestamp
        for key, value in metrics.items():
            self.log_metric(run_id, key, value, step, stamp)

    def log_metric_columns(
        self,
        run_id: str,
        key: str,
        values: Iterable[float],
        steps: Iterable[int] | None = None,
        timestamps: Iterable[int] | None = None,
    ) -> int:
        """Buffer a whole series of one metric at once (lists or numpy arrays); returns the point count.

        Steps default to 0, 1, 2, ... and timestamps to now. This is the fast path for bulk ingestion.
        """
        validate_key("metric key", key)
        if run_id not in self._active_runs:
            self._check_run_exists(run_id)
        value_col = _float_column(key, values)
        count = len(value_col)
        step_col = array("q", range(count)) if steps is None else _int_column(key, "steps", steps)
        stamp = now_ms()
        time_col = (
            array("q", [stamp]) * count if timestamps is None else _int_column(key, "timestamps", timestamps)
        )
        if not len(step_col) == len(time_col) == count:
            raise InvalidArgument(f"metric {key!r}: values, steps and timestamps must have the same length")
        self._buffer.add_columns(run_id, key, step_col, time_col, value_col)
        return count

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags synchronously in one transaction: all or nothing."""
        self._store.log_batch(run_id, metrics, params, tags)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets the run used (with tags such as `mlflow.data.context`), synchronously.

        Logging the same dataset (same name and digest) again reuses it and merges its input tags.
        """
        self._store.log_inputs(run_id, datasets)

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Every point of a metric, in logging order, as a columnar sequence of `Metric`."""
        self._buffer.flush()
        return self._store.get_metric_history(run_id, key)

    def flush(self) -> None:
        """Write every buffered metric point now; returns once they are committed."""
        self._buffer.flush()

    def _check_run_exists(self, run_id: str) -> None:
        validate_run_id(run_id)
        run = self._store.get_run(run_id)
        if run.info.lifecycle_stage.value != "active":
            raise InvalidArgument(f"run {run_id} is deleted; restore it before logging to it")
        self._active_runs.add(run_id)

    def _artifact_uri(self, run_id: str) -> str:
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            try:
                uri = self._store.get_run(run_id).info.artifact_uri
            except NotFound:
                raise NotFound(f"run {run_id} does not exist") from None
            self._artifact_uris[run_id] = uri
        return uri


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _param_text(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return repr(value)
    return str(value)


def _float_column(key: str, values: Iterable[float]) -> array[float]:
    try:
        return array("d", values.tobytes() if _is_float64_ndarray(values) else values)  # type: ignore[attr-defined]
    except TypeError:
        raise InvalidArgument(f"metric {key!r}: every value must be a number") from None


def _int_column(key: str, name: str, values: Iterable[int]) -> array[int]:
    if type(values).__name__ == "ndarray" and str(getattr(values, "dtype", "")) == "int64":
        return array("q", values.tobytes())  # type: ignore[attr-defined]
    try:
        return array("q", values)
    except (TypeError, OverflowError):
        raise InvalidArgument(f"metric {key!r}: {name} must be 64-bit integers") from None


def _is_float64_ndarray(values: object) -> bool:
    return type(values).__name__ == "ndarray" and str(getattr(values, "dtype", "")) == "float64"
