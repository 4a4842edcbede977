"""Garbage collection: permanently deleting soft-deleted runs (rows and artifacts) and emptied experiments."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from cairn._internal.clock import now_ms
from cairn.entities import Experiment, LifecycleStage, Run, ViewType
from cairn.errors import InvalidArgument, NotFound
from cairn.store.protocols import PurgeStore, TrackingStore

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PAGE = 1000
PURGE_BATCH_SIZE = 100


class GcStore(TrackingStore, PurgeStore, Protocol):
    """A tracking store that can also purge soft-deleted runs and experiments."""


@dataclass(frozen=True)
class PurgePlan:
    """What a garbage collection would delete for good.

    Attributes:
        runs: (run_id, artifact_uri) of each deleted run to purge.
        experiment_ids: Deleted experiments that have no runs left once those runs are purged.
    """

    runs: tuple[tuple[str, str], ...]
    experiment_ids: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to purge."""
        return not self.runs and not self.experiment_ids


@dataclass(frozen=True)
class PurgeReport:
    """What a garbage collection deleted, and what it left because it changed after planning.

    Attributes:
        run_ids: Runs purged.
        experiment_ids: Experiments purged.
        skipped_run_ids: Planned runs restored or purged by someone else before their turn came.
        skipped_experiment_ids: Planned experiments restored, purged elsewhere, or not empty after all.
    """

    run_ids: tuple[str, ...]
    experiment_ids: tuple[str, ...]
    skipped_run_ids: tuple[str, ...] = ()
    skipped_experiment_ids: tuple[str, ...] = ()


def parse_duration(text: str) -> int:
    """Parse an age such as `30d`, `12h`, `90m`, `45s`, `2w` or `1d12h` into milliseconds.

    Raises:
        InvalidArgument: naming the text when it is not a sequence of <integer><unit> parts.
    """
    cleaned = text.strip().lower()
    if not cleaned or _DURATION.sub("", cleaned):
        raise InvalidArgument(
            f"older_than {text!r} is not a duration; use numbers with units s, m, h, d, w (e.g. 30d, 12h, 0s)"
        )
    return sum(int(amount) * _UNIT_MS[unit] for amount, unit in _DURATION.findall(cleaned))


def purge_store(store: TrackingStore) -> GcStore:
    """Return `store` as a store that can purge, or raise `InvalidArgument` for one that cannot."""
    if not isinstance(store, PurgeStore):
        raise InvalidArgument(
            f"{type(store).__name__} cannot purge runs; run gc against the database directly"
        )
    return cast(GcStore, store)


def plan_purge(
    store: TrackingStore, older_than_ms: int | None = None, run_ids: Sequence[str] | None = None
) -> PurgePlan:
    """Work out which deleted runs and experiments a garbage collection would delete, changing nothing.

    Args:
        store: The metadata store.
        older_than_ms: Only runs and experiments deleted at least this long ago (None: any deleted one).
        run_ids: Only these runs (each must be deleted, and old enough when `older_than_ms` is given); only
            their experiments are then candidates for purging.

    Raises:
        NotFound: if a named run does not exist.
        InvalidArgument: if a named run is active or was deleted too recently.
    """
    purger = purge_store(store)
    deleted = dict(purger.find_deleted_runs(older_than_ms))
    if run_ids is None:
        runs = deleted
        candidates = [e.experiment_id for e in _deleted_experiments(store, older_than_ms)]
    else:
        runs = {run_id: _named_deleted_run(store, run_id, deleted, older_than_ms) for run_id in run_ids}
        own = {store.get_run(run_id).info.experiment_id for run_id in runs}
        candidates = [
            e.experiment_id for e in _deleted_experiments(store, older_than_ms) if e.experiment_id in own
        ]
    emptied = tuple(e for e in candidates if _runs_all_in(store, e, runs.keys()))
    return PurgePlan(tuple(runs.items()), emptied)


def execute_purge(
    store: TrackingStore,
    plan: PurgePlan,
    on_purged: Callable[[str, str], None] | None = None,
    batch_size: int = PURGE_BATCH_SIZE,
) -> PurgeReport:
    """Carry out a plan: per batch of runs, delete their artifacts, then their rows; then the experiments.

    Artifacts go first so that a crash part-way leaves a deleted run whose files are partly gone (running
    gc again finishes it), never files that no row points to any more. Each run and experiment is checked
    again just before it is purged, so one restored since planning (say, while a user read the prompt) is
    skipped, not destroyed.

    Args:
        store: The metadata store the plan was made from.
        plan: The output of `plan_purge`.
        on_purged: Called with ("run", run_id) or ("experiment", experiment_id) after each is purged.
        batch_size: Runs whose rows are deleted in one transaction.
    """
    purger = purge_store(store)
    notify = on_purged or (lambda _kind, _id: None)
    purged: list[str] = []
    for start in range(0, len(plan.runs), batch_size):
        batch = [
            (run_id, uri)
            for run_id, uri in plan.runs[start : start + batch_size]
            if _still_deleted(store, run_id)
        ]
        for run_id, artifact_uri in batch:
            delete_run_artifacts(run_id, artifact_uri)
        purger.purge_runs([run_id for run_id, _ in batch])
        for run_id, _ in batch:
            purged.append(run_id)
            notify("run", run_id)
    experiments = [e for e in plan.experiment_ids if _still_purgeable(store, e)]
    purger.purge_experiments(experiments)
    for experiment_id in experiments:
        notify("experiment", experiment_id)
    done = set(purged)
    return PurgeReport(
        tuple(purged),
        tuple(experiments),
        tuple(run_id for run_id, _ in plan.runs if run_id not in done),
        tuple(e for e in plan.experiment_ids if e not in experiments),
    )


def delete_run_artifacts(run_id: str, artifact_uri: str) -> None:
    """Delete every artifact of a run, then its own folder when it is the usual `<run_id>/artifacts` one."""
    from cairn.store.artifacts import artifact_store_for

    artifact_store_for(artifact_uri).delete()
    suffix = f"/{run_id}/artifacts"
    parent = artifact_uri.removesuffix(suffix)
    if parent == artifact_uri or not parent:
        return
    left = [info.path for info in artifact_store_for(f"{parent}/{run_id}").list()]
    if left in ([], ["artifacts"]):
        artifact_store_for(parent).delete(run_id)


def _named_deleted_run(
    store: TrackingStore, run_id: str, deleted: dict[str, str], older_than_ms: int | None
) -> str:
    if run_id in deleted:
        return deleted[run_id]
    run = store.get_run(run_id)
    if run.info.lifecycle_stage is LifecycleStage.ACTIVE:
        raise InvalidArgument(f"run {run_id} is active; delete it before purging it")
    age = f"{(older_than_ms or 0) // 1000} s"
    raise InvalidArgument(f"run {run_id} was deleted less than {age} ago; it is kept for now")


def _still_deleted(store: TrackingStore, run_id: str) -> bool:
    try:
        return store.get_run(run_id).info.lifecycle_stage is LifecycleStage.DELETED
    except NotFound:
        return False


def _still_purgeable(store: TrackingStore, experiment_id: str) -> bool:
    try:
        experiment = store.get_experiment(experiment_id)
    except NotFound:
        return False
    if experiment.lifecycle_stage is not LifecycleStage.DELETED:
        return False
    return not store.search_runs([experiment_id], None, ViewType.ALL, 1)


def _deleted_experiments(store: TrackingStore, older_than_ms: int | None) -> Iterator[Experiment]:
    cutoff = None if older_than_ms is None else now_ms() - older_than_ms
    token: str | None = None
    while True:
        page = store.search_experiments(ViewType.DELETED_ONLY, _PAGE, None, None, token)
        yield from (e for e in page if cutoff is None or e.last_update_time <= cutoff)
        token = page.token
        if not token:
            return


def _runs_all_in(store: TrackingStore, experiment_id: str, purged: Collection[str]) -> bool:
    wanted = set(purged)
    return all(run.info.run_id in wanted for run in _all_runs(store, experiment_id))


def _all_runs(store: TrackingStore, experiment_id: str) -> Iterator[Run]:
    token: str | None = None
    while True:
        page = store.search_runs([experiment_id], None, ViewType.ALL, _PAGE, None, token)
        yield from page
        token = page.token
        if not token:
            return
