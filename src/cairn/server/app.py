"""The app factory: one FastAPI app over injected services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.types import ASGIApp

import cairn
from cairn.server import ops
from cairn.server.config import ServerConfig
from cairn.server.errors import install_error_handlers
from cairn.server.mlflow import artifacts as mlflow_artifacts
from cairn.server.mlflow import inputs as mlflow_inputs
from cairn.server.mlflow import registry as mlflow_registry
from cairn.server.mlflow import tracking as mlflow_tracking
from cairn.server.native import artifacts as native_artifacts
from cairn.server.native import datasets as native_datasets
from cairn.server.native import registry as native_registry
from cairn.server.native import tracking as native_tracking
from cairn.server.observability import ObservabilityMiddleware, ServerMetrics
from cairn.server.security import SecurityMiddleware
from cairn.server.services import Services, open_services

MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
MLFLOW_ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
NATIVE_PREFIX = "/api/v1"
STARTUP_FAILURE_STATUS = 3
"""uvicorn's exit status for "the app could not start"; its supervisor then stops instead of retrying."""

log = logging.getLogger("cairn.server")


class CairnApp(FastAPI):
    """FastAPI with Cairn's outer layers around the whole stack, error handlers included.

    Outermost first: metrics and access log (so refusals and 500s are counted too), then request
    screening and security headers (so error responses carry them as well).
    """

    def build_middleware_stack(self) -> ASGIApp:
        """The FastAPI stack wrapped in the observability and security middleware."""
        inner = super().build_middleware_stack()
        screened = SecurityMiddleware(inner, self.state.services.config)
        return ObservabilityMiddleware(screened, self.state.metrics)


def create_app(services: Services) -> FastAPI:
    """Build the app: operational routes, the native API, the MLflow-compatible API and artifact proxy."""
    app = CairnApp(title="Cairn", version=cairn.__version__, docs_url="/docs", redoc_url=None)
    app.state.services = services
    app.state.metrics = ServerMetrics()
    engine = getattr(services.store, "engine", None)
    if isinstance(engine, Engine):
        app.state.metrics.watch_engine(engine)
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(native_tracking.router, prefix=NATIVE_PREFIX)
    app.include_router(native_artifacts.router, prefix=NATIVE_PREFIX)
    app.include_router(native_registry.router, prefix=NATIVE_PREFIX)
    app.include_router(native_datasets.router, prefix=NATIVE_PREFIX)
    for prefix in MLFLOW_PREFIXES:
        app.include_router(mlflow_tracking.router, prefix=prefix)
        app.include_router(mlflow_inputs.router, prefix=prefix)
        app.include_router(mlflow_artifacts.listing_router, prefix=prefix)
        app.include_router(mlflow_registry.router, prefix=prefix)
    for prefix in MLFLOW_ARTIFACT_PREFIXES:
        app.include_router(mlflow_artifacts.router, prefix=prefix)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers: configuration comes from CAIRN_SERVER_* variables.

    The app owns the services it opened: its lifespan closes the store when the worker shuts down. A store
    that cannot be opened ends the process with uvicorn's start-up failure status (3), so a supervisor
    stops instead of restarting workers that would fail the same way.
    """
    try:
        services = open_services(ServerConfig.from_env())
    except Exception as error:
        log.error("cannot start the server: %s", getattr(error, "message", None) or repr(error))
        raise SystemExit(STARTUP_FAILURE_STATUS) from error
    app = create_app(services)
    app.router.lifespan_context = _closing(app)
    return app


def _closing(app: FastAPI) -> Callable[[object], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        try:
            yield
        finally:
            app.state.metrics.close()
            app.state.services.store.close()

    return lifespan
