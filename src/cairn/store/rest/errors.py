"""Turning a Cairn server's error responses back into the CairnError the server raised."""

from __future__ import annotations

import httpx

from cairn.errors import AlreadyExists, CairnError, Conflict, InvalidArgument, NotFound, PermissionDenied


class ServerUnavailable(ConnectionError):
    """The tracking server could not be reached, or kept answering 502/503/504, after every retry.

    It is deliberately not a `CairnError`: nothing was refused, so callers that keep data for a later
    attempt (the metric buffer) keep it instead of dropping it.
    """


_BY_CODE: dict[str, type[CairnError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFound,
    "NOT_FOUND": NotFound,
    "RESOURCE_ALREADY_EXISTS": AlreadyExists,
    "ALREADY_EXISTS": AlreadyExists,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAUTHENTICATED": PermissionDenied,
    "CUSTOMER_UNAUTHORIZED": PermissionDenied,
    "INVALID_PARAMETER_VALUE": InvalidArgument,
    "BAD_REQUEST": InvalidArgument,
    "REQUEST_TOO_LARGE": InvalidArgument,
    "RESOURCE_CONFLICT": Conflict,
}
_BY_STATUS: dict[int, type[CairnError]] = {
    400: InvalidArgument,
    401: PermissionDenied,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidArgument,
    415: InvalidArgument,
    422: InvalidArgument,
}


def error_from_response(response: httpx.Response) -> CairnError:
    """The CairnError a non-2xx response stands for, with the server's message.

    `{"error_code", "message"}` bodies map by code (a 409 with INVALID_PARAMETER_VALUE is a `Conflict`);
    other bodies map by status. An unknown route (ENDPOINT_NOT_FOUND) is a plain CairnError that says the
    server does not speak this API, never a `NotFound` a caller could mistake for a missing entity.
    """
    code, message = _decode_body(response)
    where = f"{response.request.method} {response.request.url.path}"
    if code == "ENDPOINT_NOT_FOUND":
        return CairnError(
            f"the server at {response.request.url.host} has no endpoint {where} ({message}); "
            "is it a Cairn server of a compatible version?"
        )
    cls = _BY_CODE.get(code or "")
    if cls is InvalidArgument and response.status_code == 409:
        cls = Conflict
    if cls is None:
        cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        kind = "server error" if response.status_code >= 500 else "unexpected response"
        return CairnError(f"{kind} {response.status_code} from {where}: {message}")
    return cls(message)


def _decode_body(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("error_code")
        return (code if isinstance(code, str) else None), body["message"]
    text = response.text.strip()
    return None, (text[:300] if text else f"HTTP {response.status_code} with an empty body")
