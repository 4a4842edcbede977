"""The scoring app's Open Inference Protocol (KServe v2) routes.

`GET /v2`, `/v2/health/live`, `/v2/health/ready`, `/v2/models/{name}`, `/v2/models/{name}/ready` and
`POST /v2/models/{name}/infer`, and the same three under `/v2/models/{name}/versions/{version}` for a
version served now, the champion's or the challenger's (see `cairn.serving.oip` for the wire format).
Errors carry `"error"` besides `{"error_code", "message"}`: 404 for a model name or version not served,
413 for a body over the size limit, 415 for binary tensors or a content type other than JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import cairn
from cairn.serving.codecs import JSON_MEDIA_TYPE
from cairn.serving.oip import InferRequest, decode_infer_request, encode_infer_response, model_metadata
from cairn.serving.request_handling import (
    BAD_REQUEST,
    BodyTooLarge,
    Served,
    answer,
    error_response,
    read_body,
    score,
    score_routed,
    slot_of,
    too_large,
)
from cairn.serving.traffic import CHALLENGER, CHAMPION

if TYPE_CHECKING:
    from cairn.serving.traffic import TrafficRouter

_BINARY_TENSOR_HEADER = "inference-header-content-length"


def oip_routes(served: Served) -> list[Route]:
    """The Open Inference Protocol routes, answering for the model `served` names."""

    async def server_metadata(request: Request) -> Response:
        return JSONResponse({"name": "cairn", "version": cairn.__version__, "extensions": []})

    async def live(request: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(request: Request) -> Response:
        return JSONResponse({"ready": True})

    async def model_info(request: Request) -> Response:
        name = request.path_params["name"]
        if (refusal := _unknown_model(served, name)) is not None:
            return refusal
        entry = served.slot.current()
        metadata = model_metadata(name, entry.version, entry.model.flavor, entry.model.signature)
        metadata["versions"] = _served_versions(served)
        return JSONResponse(metadata)

    async def model_ready(request: Request) -> Response:
        name = request.path_params["name"]
        return _unknown_model(served, name) or JSONResponse({"name": name, "ready": True})

    async def infer(request: Request) -> Response:
        refusal = _unknown_model(served, request.path_params["name"])
        return await _infer_answer(served, request, refusal, None)

    return [
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2/models/{name}", model_info, methods=["GET"]),
        Route("/v2/models/{name}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", infer, methods=["POST"]),
        *_versioned_oip_routes(served),
    ]


def _versioned_oip_routes(served: Served) -> list[Route]:
    """`/v2/models/{name}/versions/{version}[/ready|/infer]`, for the versions this app serves now."""
    base = "/v2/models/{name}/versions/{version}"

    async def version_info(request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params["version"]
        served_by, refusal = _served_version(served, name, version)
        if refusal is not None:
            return refusal
        entry = slot_of(served, served_by).current()
        return JSONResponse(model_metadata(name, version, entry.model.flavor, entry.model.signature))

    async def version_ready(request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params["version"]
        refusal = _served_version(served, name, version)[1]
        return refusal or JSONResponse({"name": name, "version": version, "ready": True})

    async def version_infer(request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params["version"]
        served_by, refusal = _served_version(served, name, version)
        return await _infer_answer(served, request, refusal, served_by)

    return [
        Route(base, version_info, methods=["GET"]),
        Route(base + "/ready", version_ready, methods=["GET"]),
        Route(base + "/infer", version_infer, methods=["POST"]),
    ]


async def _infer_answer(
    served: Served, request: Request, refusal: Response | None, served_by: str | None
) -> Response:
    """Answer an infer request: refuse it, or read its body and score it (routed, or on `served_by`)."""
    refusal = refusal or _unreadable_infer(request)
    if refusal is not None:
        return refusal
    try:
        body = await read_body(request, served.max_body_bytes)
    except BodyTooLarge:
        return too_large(served.max_body_bytes, oip=True)
    return await run_in_threadpool(answer, served.metrics, lambda: _infer(served, body, served_by), True)


def _served_versions(served: Served) -> list[str]:
    """The versions answering now: the champion's, and the challenger's unless it was rolled back."""
    versions = [served.slot.current().version]
    router = served.router
    if router is not None and not router.rolled_back:
        versions.append(router.challenger.current().version)
    return list(dict.fromkeys(version for version in versions if version is not None))


def _served_version(served: Served, name: str, version: str) -> tuple[str, Response | None]:
    """Who serves `version` of model `name` ("champion" or "challenger"), or an Open Inference 404."""
    refusal = _unknown_model(served, name)
    if refusal is not None:
        return CHAMPION, refusal
    if served.slot.current().version == version:
        return CHAMPION, None
    router = served.router
    if router is not None and not router.rolled_back and router.challenger.current().version == version:
        return CHALLENGER, None
    versions = ", ".join(_served_versions(served)) or "none (the model is not from the registry)"
    message = f"model {name!r} has no version {version!r} served here; versions served: {versions}"
    return CHAMPION, error_response(404, "RESOURCE_DOES_NOT_EXIST", message, oip=True)


def _infer(served: Served, body: bytes, served_by: str | None) -> bytes:
    """Decode an infer request, score it (routed, or on the arm `served_by`) and encode it, off the loop."""
    router = served.router
    if router is None:
        entry = served.slot.current()
        decoded = decode_infer_request(body, entry.model.signature)
        predictions = score(served, entry, decoded.data, decoded.params)
    else:
        decoded, served_by = _decode_routed(router, body, served_by)
        predictions, entry = score_routed(served, decoded.data, decoded.params, served_by)
    return encode_infer_response(
        predictions,
        model_name=served.name,
        model_version=entry.version,
        request_id=decoded.request_id,
        signature=entry.model.signature,
    )


def _decode_routed(router: TrafficRouter, body: bytes, served_by: str | None) -> tuple[InferRequest, str]:
    """Decode for the arm's signature; an unrouted request is decoded (checked) before it is routed."""
    first = router.slot_of(served_by or CHAMPION).current().model.signature
    decoded = decode_infer_request(body, first)
    if served_by is None:
        served_by = router.choose()
        signature = router.slot_of(served_by).current().model.signature
        if signature != first:
            decoded = decode_infer_request(body, signature)
    return decoded, served_by


def _unknown_model(served: Served, name: str) -> Response | None:
    if name == served.name:
        return None
    message = f"model {name!r} is not served here; this server serves {served.name!r}"
    return error_response(404, "RESOURCE_DOES_NOT_EXIST", message, oip=True)


def _unreadable_infer(request: Request) -> Response | None:
    if _BINARY_TENSOR_HEADER in request.headers:
        message = "binary tensor data is not supported; send the tensors as JSON"
        return error_response(415, BAD_REQUEST, message, oip=True)
    content_type = request.headers.get("content-type")
    if content_type and content_type.split(";", 1)[0].strip().lower() != JSON_MEDIA_TYPE:
        message = f"content type must be {JSON_MEDIA_TYPE}; got {content_type}"
        return error_response(415, BAD_REQUEST, message, oip=True)
    return None
