"""The MLflow-compatible tracking API (`/api/2.0/mlflow/...`) as one router.

It gathers the experiment, run, logging and metric-history routes.

Anything not routed here falls through to the app's 404 ENDPOINT_NOT_FOUND, which the MLflow client reads
as "this server does not implement that endpoint".
"""

from __future__ import annotations

from fastapi import APIRouter

from cairn.server.mlflow import experiments, metrics, run_logging, runs

router = APIRouter(include_in_schema=False)
for _part in (experiments.router, runs.router, run_logging.router, metrics.router):
    router.include_router(_part)

__all__ = ["router"]
