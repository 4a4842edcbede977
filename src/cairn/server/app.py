"""The app factory: one FastAPI app over injected services."""

from __future__ import annotations

from fastapi import FastAPI

import cairn
from cairn.server import ops
from cairn.server.config import ServerConfig
from cairn.server.errors import install_error_handlers
from cairn.server.mlflow import artifacts as mlflow_artifacts
from cairn.server.mlflow import inputs as mlflow_inputs
from cairn.server.mlflow import tracking as mlflow_tracking
from cairn.server.native import artifacts as native_artifacts
from cairn.server.native import tracking as native_tracking
from cairn.server.services import Services, open_services

MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
MLFLOW_ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
NATIVE_PREFIX = "/api/v1"


def create_app(services: Services) -> FastAPI:
    """Build the app: operational routes, the native API, the MLflow-compatible API and artifact proxy."""
    app = FastAPI(title="Cairn", version=cairn.__version__, docs_url="/docs", redoc_url=None)
    app.state.services = services
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(native_tracking.router, prefix=NATIVE_PREFIX)
    app.include_router(native_artifacts.router, prefix=NATIVE_PREFIX)
    for prefix in MLFLOW_PREFIXES:
        app.include_router(mlflow_tracking.router, prefix=prefix)
        app.include_router(mlflow_inputs.router, prefix=prefix)
        app.include_router(mlflow_artifacts.listing_router, prefix=prefix)
    for prefix in MLFLOW_ARTIFACT_PREFIXES:
        app.include_router(mlflow_artifacts.router, prefix=prefix)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers: configuration comes from CAIRN_SERVER_* variables."""
    return create_app(open_services(ServerConfig.from_env()))
