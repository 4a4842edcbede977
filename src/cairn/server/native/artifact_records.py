"""Native artifact-record resources: the size and SHA-256 recorded for each artifact file of a run."""

from __future__ import annotations

from fastapi import APIRouter, status

from cairn.server.native.dependencies import ServicesDep
from cairn.server.native.models import ArtifactRecord, ArtifactRecords, error_responses

router = APIRouter(tags=["artifact records"], responses=error_responses(400, 404))


@router.post("/runs/{run_id}/artifact-records", status_code=status.HTTP_204_NO_CONTENT)
def record_artifacts(run_id: str, body: ArtifactRecords, services: ServicesDep) -> None:
    """Store (or replace) the size and digest of these artifact files of an active run."""
    services.store.record_artifacts(run_id, [record.entity() for record in body.files])


@router.get("/runs/{run_id}/artifact-records")
def get_artifact_records(run_id: str, services: ServicesDep, prefix: str = "") -> ArtifactRecords:
    """The recorded files of the run under folder `prefix` (all of them when empty)."""
    records = services.store.get_artifact_records(run_id, prefix)
    return ArtifactRecords(files=[ArtifactRecord.of(info) for info in records.values()])
