"""Native run resources: `/api/v1/runs` (lifecycle, logging, tags, search, heartbeats, purge)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cairn.entities import Metric, Param, RunTag
from cairn.server.native.dependencies import ServicesDep, purge_store
from cairn.server.native.models import (
    CreateRun,
    DeletedRun,
    DeletedRuns,
    FailStale,
    Heartbeat,
    LogBatch,
    LogInputs,
    RunIds,
    RunInfoModel,
    RunModel,
    RunPage,
    SearchRuns,
    UpdateRun,
    error_responses,
)

router = APIRouter(tags=["runs"], responses=error_responses(400, 404, 409))


@router.post("/runs", status_code=status.HTTP_201_CREATED)
def create_run(body: CreateRun, services: ServicesDep) -> RunModel:
    """Create a RUNNING run in an active experiment."""
    run = services.store.create_run(
        body.experiment_id,
        user_id=body.user_id,
        start_time=body.start_time,
        run_name=body.run_name,
        tags=[RunTag(t.key, t.value) for t in body.tags],
        parent_run_id=body.parent_run_id,
    )
    return RunModel.of(run)


@router.post("/runs/search")
def search_runs(body: SearchRuns, services: ServicesDep) -> RunPage:
    """One page of runs of some experiments matching a filter, in the requested order."""
    page = services.store.search_runs(
        body.experiment_ids,
        body.filter_string,
        body.view_type,
        body.max_results,
        body.order_by or None,
        body.page_token,
    )
    return RunPage(runs=[RunModel.of(r) for r in page], next_page_token=page.token)


@router.post("/runs/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
def record_heartbeat(body: Heartbeat, services: ServicesDep) -> None:
    """Note that the processes driving these runs are alive."""
    services.store.record_heartbeat(body.run_ids, body.now)


@router.post("/runs/fail-stale")
def fail_stale_runs(body: FailStale, services: ServicesDep) -> RunIds:
    """Mark RUNNING runs without a recent heartbeat as FAILED; answer with their ids."""
    return RunIds(run_ids=services.store.fail_stale_runs(body.timeout_ms, body.now))


@router.get("/runs/deleted")
def find_deleted_runs(services: ServicesDep, older_than_ms: int | None = None) -> DeletedRuns:
    """Soft-deleted runs (deleted at least `older_than_ms` ago, when given) and their artifact URIs."""
    found = purge_store(services).find_deleted_runs(older_than_ms)
    return DeletedRuns(runs=[DeletedRun(run_id=run_id, artifact_uri=uri) for run_id, uri in found])


@router.post("/runs/purge", status_code=status.HTTP_204_NO_CONTENT)
def purge_runs(body: RunIds, services: ServicesDep) -> None:
    """Delete soft-deleted runs and all their rows for good (their artifacts are the caller's to delete)."""
    purge_store(services).purge_runs(body.run_ids)


@router.get("/runs/{run_id}")
def get_run(run_id: str, services: ServicesDep) -> RunModel:
    """The run with its params, tags and latest metrics."""
    return RunModel.of(services.store.get_run(run_id))


@router.patch("/runs/{run_id}")
def update_run(run_id: str, body: UpdateRun, services: ServicesDep) -> RunInfoModel:
    """Change the run's status, end time or name; answer with its new info."""
    info = services.store.update_run(run_id, body.status, body.end_time, body.run_name)
    return RunInfoModel.of(info)


@router.delete("/runs/{run_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_run(run_id: str, services: ServicesDep) -> None:
    """Soft-delete the run."""
    services.store.delete_run(run_id)


@router.post("/runs/{run_id}/restore", status_code=status.HTTP_204_NO_CONTENT)
def restore_run(run_id: str, services: ServicesDep) -> None:
    """Undo a soft delete of the run."""
    services.store.restore_run(run_id)


@router.post("/runs/{run_id}/log-batch", status_code=status.HTTP_204_NO_CONTENT)
def log_batch(run_id: str, body: LogBatch, services: ServicesDep) -> None:
    """Log metrics, params and tags in one transaction; 409 if a param would change value."""
    services.store.log_batch(
        run_id,
        metrics=[Metric(m.key, m.value, m.timestamp, m.step) for m in body.metrics],
        params=[Param(p.key, p.value) for p in body.params],
        tags=[RunTag(t.key, t.value) for t in body.tags],
    )


@router.delete("/runs/{run_id}/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_tag(run_id: str, key: str, services: ServicesDep) -> None:
    """Remove a tag from the run; 404 if it has no such tag."""
    services.store.delete_tag(run_id, key)


@router.post("/runs/{run_id}/inputs", status_code=status.HTTP_204_NO_CONTENT)
def log_inputs(run_id: str, body: LogInputs, services: ServicesDep) -> None:
    """Record datasets the run used; a dataset logged again is reused and its input tags merged."""
    services.store.log_inputs(run_id, [item.entity() for item in body.datasets])
