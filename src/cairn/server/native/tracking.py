"""The native tracking API (`/api/v1`): experiments, runs, metric histories and ingestion, artifact records.

Typed with pydantic models (so `/openapi.json` documents it), paginated searches with opaque tokens, and
errors as `{"error_code", "message"}` with 404 for missing entities, 400 for bad input and 409 for
conflicts (a name taken, a param changed). `cairn.store.rest.RestStore` is its client.
"""

from __future__ import annotations

from fastapi import APIRouter

from cairn.server.native import artifact_records, experiments, metrics, runs

router = APIRouter()
router.include_router(experiments.router)
router.include_router(runs.router)
router.include_router(metrics.router)
router.include_router(artifact_records.router)
