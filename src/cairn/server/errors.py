"""Mapping errors to HTTP responses: MLflow's codes and statuses, always as JSON, never a traceback."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cairn.errors import AlreadyExists, CairnError, Conflict, InvalidArgument, NotFound, PermissionDenied

log = logging.getLogger("cairn.server")

NATIVE_PREFIX = "/api/v1"
_MLFLOW_STATUS: dict[type[CairnError], int] = {
    NotFound: 404,
    AlreadyExists: 400,
    InvalidArgument: 400,
    Conflict: 400,
    PermissionDenied: 403,
}
_NATIVE_STATUS: dict[type[CairnError], int] = {**_MLFLOW_STATUS, AlreadyExists: 409, Conflict: 409}
_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    413: "REQUEST_TOO_LARGE",
}


def error_body(error_code: str, message: str) -> dict[str, str]:
    """The JSON error shape both APIs share: `{"error_code", "message"}`."""
    return {"error_code": error_code, "message": message}


def status_for(error: CairnError, path: str) -> int:
    """The HTTP status for a Cairn error: MLflow's mapping, or 409 for conflicts on the native API."""
    table = _NATIVE_STATUS if path.startswith(NATIVE_PREFIX) else _MLFLOW_STATUS
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return 500


async def _cairn_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CairnError)
    status = status_for(error, request.url.path)
    return JSONResponse(error_body(error.error_code, error.message), status_code=status)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        location = ".".join(
            str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")
        )
        problems.append(f"{location or 'request'}: {item.get('msg', 'invalid')}")
    message = "Invalid request: " + "; ".join(problems)
    return JSONResponse(error_body("INVALID_PARAMETER_VALUE", message), status_code=400)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, "BAD_REQUEST" if error.status_code < 500 else "INTERNAL_ERROR")
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    if error.status_code in (404, 405):
        detail = f"No endpoint {request.method} {request.url.path}"
    return JSONResponse(error_body(code, detail), status_code=error.status_code, headers=error.headers)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    log.exception("request %s %s failed (request id %s)", request.method, request.url.path, request_id)
    message = f"Internal error; quote request id {request_id} when reporting it"
    return JSONResponse(error_body("INTERNAL_ERROR", message), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error shape."""
    app.add_exception_handler(CairnError, _cairn_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
