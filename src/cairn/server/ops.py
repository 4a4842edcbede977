"""Operational routes: health (with a database check), version and Prometheus metrics."""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

import cairn
from cairn.server.services import get_services
from cairn.store.protocols import TrackingStore

HEALTH_TIMEOUT_S = 5.0
router = APIRouter(tags=["operations"])
log = logging.getLogger("cairn.server")


def check_database(store: TrackingStore) -> None:
    """Run the cheapest query the store allows; raises whatever the database raises."""
    engine = getattr(store, "engine", None)
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar()
    else:
        store.find_experiment_by_name("Default")


@router.get("/health", response_model=None)
async def health(request: Request) -> dict[str, str] | JSONResponse:
    """Readiness: the process answers and its database answers a trivial query; else 503."""
    store = get_services(request).store
    try:
        with anyio.fail_after(HEALTH_TIMEOUT_S):
            await anyio.to_thread.run_sync(check_database, store, abandon_on_cancel=True)
    except TimeoutError:
        return _unavailable(f"the database did not answer within {HEALTH_TIMEOUT_S:g} s")
    except Exception as error:
        log.warning("health check: database query failed: %s", error)
        return _unavailable(f"the database query failed ({type(error).__name__}); see the server log")
    return {"status": "OK"}


@router.get("/version")
def version() -> dict[str, str]:
    """The Cairn version serving this request."""
    return {"version": cairn.__version__}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics in text format (summed over all workers of this server)."""
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)


def _unavailable(message: str) -> JSONResponse:
    body = {"status": "UNAVAILABLE", "error_code": "TEMPORARILY_UNAVAILABLE", "message": message}
    return JSONResponse(body, status_code=503)
