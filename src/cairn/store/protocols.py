"""The small protocols every metadata and artifact back end implements."""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from cairn.entities import (
    ArtifactInfo,
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


class ExperimentStore(Protocol):
    """Create, find, search and change experiments."""

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id; `AlreadyExists` if the name is taken."""
        ...

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return the experiment; `NotFound` if there is none with that id."""
        ...

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with that name (active or deleted), or None."""
        ...

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Return one page of experiments matching the filter."""
        ...

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give the experiment a new, unused name."""
        ...

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete the experiment and its runs."""
        ...

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo a soft delete of the experiment and its runs."""
        ...

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Set or replace a tag on the experiment."""
        ...


class RunStore(Protocol):
    """Create runs, log params and tags, change status, search."""

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
        ...

    def get_run(self, run_id: str) -> Run:
        """Return the run with its params, tags and latest metrics; `NotFound` if absent."""
        ...

    def update_run(
        self,
        run_id: str,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change a run's status, end time or name and return the new info."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Soft-delete the run."""
        ...

    def restore_run(self, run_id: str) -> None:
        """Undo a soft delete of the run."""
        ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags in one transaction: all of it is stored, or none."""
        ...

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from the run; `NotFound` if it has no such tag."""
        ...

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets the run used; a dataset logged again is reused and its input tags merged."""
        ...

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
        ...

    def record_heartbeat(self, run_ids: Sequence[str], now: int) -> None:
        """Note that the processes driving these runs are alive at `now` (ms)."""
        ...

    def fail_stale_runs(self, timeout_ms: int, now: int) -> list[str]:
        """Mark RUNNING runs whose last heartbeat is older than `timeout_ms` as FAILED; return their ids."""
        ...


class MetricStore(Protocol):
    """Append and read metric histories, stored as columns."""

    def append_metric_columns(
        self, columns: Mapping[tuple[str, str], tuple[array[int], array[int], array[float]]]
    ) -> None:
        """Append points per (run_id, key): steps, timestamps (ms) and values, in one transaction."""
        ...

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Return every point logged for the metric, in logging order (empty if none)."""
        ...


class ArtifactRecordStore(Protocol):
    """Remember the size and SHA-256 of every artifact file written for a run."""

    def record_artifacts(self, run_id: str, infos: Sequence[ArtifactInfo]) -> None:
        """Store (or replace) the size and digest of these artifact files."""
        ...

    def get_artifact_records(self, run_id: str, prefix: str = "") -> dict[str, ArtifactInfo]:
        """Return recorded files under `prefix`, keyed by path."""
        ...


@runtime_checkable
class PurgeStore(Protocol):
    """Hard deletion of soft-deleted runs and experiments (what `cairn gc` needs); irreversible."""

    def find_deleted_runs(self, older_than_ms: int | None = None) -> list[tuple[str, str]]:
        """Return (run_id, artifact_uri) of deleted runs (with `older_than_ms`: deleted that long ago)."""
        ...

    def purge_runs(self, run_ids: Sequence[str]) -> None:
        """Delete these deleted runs and all their rows; `InvalidArgument` for an active run."""
        ...

    def purge_experiments(self, experiment_ids: Sequence[str]) -> None:
        """Delete these deleted experiments; `InvalidArgument` if one is active or still has runs."""
        ...


class TrackingStore(ExperimentStore, RunStore, MetricStore, ArtifactRecordStore, Protocol):
    """Everything a TrackingClient needs from a metadata back end."""

    def close(self) -> None:
        """Release connections and background resources."""
        ...


class ArtifactStore(Protocol):
    """Files under one artifact root (a run's artifact URI), addressed by safe relative paths."""

    def log_file(self, local_file: str | Path, artifact_path: str | None = None) -> ArtifactInfo:
        """Copy a local file into folder `artifact_path`; atomic; returns its size and SHA-256."""
        ...

    def log_bytes(self, data: bytes, artifact_file: str) -> ArtifactInfo:
        """Write `data` as file `artifact_file`; atomic; returns its size and SHA-256."""
        ...

    def log_stream(self, stream: BinaryIO, artifact_file: str) -> ArtifactInfo:
        """Write a stream as file `artifact_file` without holding it whole in memory; atomic."""
        ...

    def log_dir(self, local_dir: str | Path, artifact_path: str | None = None) -> list[ArtifactInfo]:
        """Copy every file under a local folder into folder `artifact_path`."""
        ...

    def list(self, path: str | None = None) -> list[ArtifactInfo]:
        """List the direct children of folder `path` (the root when None), sorted by path."""
        ...

    def open(self, path: str) -> BinaryIO:
        """Open a file for streaming reads; `NotFound` if absent."""
        ...

    def download(self, path: str | None, dst_dir: str | Path) -> Path:
        """Copy a file or folder (the whole root when None) under `dst_dir`; return the local path."""
        ...

    def delete(self, path: str | None = None) -> None:
        """Delete a file or folder (the whole root when None)."""
        ...
