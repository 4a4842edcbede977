"""The scoring app: an ASGI application that answers health checks and predictions for one loaded model.

Routes: `GET /ping` and `GET /health` (200 once the model is loaded, which it is when the app exists),
`GET /version`, and `POST /invocations`, which speaks MLflow's scoring protocol (see `cairn.serving.codecs`).
Errors are JSON `{"error_code", "message"}`: 400 for bad input (including the model's own signature
checks), 413 for a body over the size limit, 415 for an unsupported content type, 500 when the model fails.
"""

from __future__ import annotations

import logging
import platform
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import cairn
from cairn.errors import InvalidArgument
from cairn.serving.codecs import SUPPORTED_MEDIA_TYPES, decode_request, encode_predictions, media_type_of

if TYPE_CHECKING:
    from cairn.models.loaded import LoadedModel

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
BAD_REQUEST = "BAD_REQUEST"
_MAX_REASON_CHARS = 500
log = logging.getLogger("cairn.serving")


class _BodyTooLarge(Exception):
    pass


def error_response(status: int, error_code: str, message: str) -> JSONResponse:
    """A JSON error in the shape Cairn and MLflow share: `{"error_code", "message"}`."""
    return JSONResponse({"error_code": error_code, "message": message}, status_code=status)


def create_scoring_app(model: LoadedModel, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    """An app serving `model`: health checks, version and `POST /invocations`.

    Args:
        model: The loaded model every request is scored with.
        max_body_bytes: Largest request body accepted; larger ones get 413 before the model sees them.
    """
    if max_body_bytes < 1:
        raise InvalidArgument(f"max_body_bytes must be at least 1, got {max_body_bytes}")
    app = FastAPI(title="Cairn model server", version=cairn.__version__, docs_url=None, redoc_url=None)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    version = _version_body(model)

    @app.get("/ping")
    @app.get("/health")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/version")
    def version_info() -> dict[str, Any]:
        return version

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        media_type = media_type_of(request.headers.get("content-type"))
        if media_type is None:
            given = request.headers.get("content-type") or "none"
            message = f"content type must be one of {', '.join(SUPPORTED_MEDIA_TYPES)}; got {given}"
            return error_response(415, BAD_REQUEST, message)
        try:
            body = await _read_body(request, max_body_bytes)
        except _BodyTooLarge:
            return error_response(413, "REQUEST_TOO_LARGE", f"request body exceeds {max_body_bytes} bytes")
        return await run_in_threadpool(_score, model, body, media_type)

    return app


def _score(model: LoadedModel, body: bytes, media_type: str) -> Response:
    """Decode, predict and encode, off the event loop."""
    try:
        request = decode_request(body, media_type)
        predictions = model.predict(request.data, params=request.params)
        content = encode_predictions(predictions)
    except InvalidArgument as error:
        return error_response(400, BAD_REQUEST, error.message)
    except Exception as error:
        request_id = uuid.uuid4().hex
        log.exception("scoring request %s failed", request_id)
        reason = f"{type(error).__name__}: {error}"[:_MAX_REASON_CHARS]
        message = f"the model failed to score the input ({reason}); request id {request_id}"
        return error_response(500, "INTERNAL_ERROR", message)
    return Response(content, media_type="application/json")


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge
    return bytes(body)


def _version_body(model: LoadedModel) -> dict[str, Any]:
    return {
        "cairn_version": cairn.__version__,
        "python_version": platform.python_version(),
        "flavor": model.spec.flavor,
    }


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code in (404, 405):
        message = f"No endpoint {request.method} {request.url.path}"
        return error_response(error.status_code, "ENDPOINT_NOT_FOUND", message)
    return error_response(error.status_code, BAD_REQUEST, str(error.detail))
