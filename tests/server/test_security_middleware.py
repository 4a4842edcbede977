"""The request-screening middleware against a live server: Host, Origin, content type, body size, headers."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from cairn.server.config import ServerConfig
from cairn.server.security import (
    BodyKind,
    SecurityMiddleware,
    SecurityPolicy,
    body_kind,
    parse_origin,
    split_host,
)
from live_server import LiveServer, serve

CREATE = "/api/2.0/mlflow/experiments/create"
UPLOAD = "/api/2.0/mlflow-artifacts/artifacts/0/uploads/artifacts/data.txt"
UI_ORIGIN = "http://ui.example:3000"
BODY_LIMIT = 1024
UPLOAD_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("security")
    live = serve(
        str(root / "store"),
        root / "artifacts",
        allowed_origins=(UI_ORIGIN,),
        max_body_bytes=BODY_LIMIT,
        max_upload_bytes=UPLOAD_LIMIT,
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def unique_name() -> str:
    return f"exp-{uuid.uuid4().hex[:10]}"


def created(server: LiveServer, name: str) -> bool:
    return server.services.store.find_experiment_by_name(name) is not None


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_spoofed_host_is_refused(http: httpx.Client) -> None:
    response = http.get("/health", headers={"Host": "attacker.example"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "BAD_REQUEST"
    assert "attacker.example" in response.json()["message"]
    assert_security_headers(response)


@pytest.mark.parametrize("host", ["localhost:8080", "127.0.0.1", "LOCALHOST", "[::1]:5000"])
def test_allowed_hosts_ignore_port_and_case(http: httpx.Client, host: str) -> None:
    assert http.get("/health", headers={"Host": host}).status_code == 200


def test_rebinding_write_is_refused_and_nothing_is_written(server: LiveServer, http: httpx.Client) -> None:
    name = unique_name()
    response = http.post(CREATE, json={"name": name}, headers={"Host": "rebound.example:80"})
    assert response.status_code == 400
    assert not created(server, name)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_foreign_origin_is_refused_for_every_method(
    server: LiveServer, http: httpx.Client, method: str
) -> None:
    name = unique_name()
    response = http.request(
        method, CREATE, content=json.dumps({"name": name}), headers=_json_from("https://evil.example")
    )
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"
    assert "access-control-allow-origin" not in response.headers
    assert not created(server, name)


def test_null_origin_is_refused(http: httpx.Client) -> None:
    assert http.get("/health", headers={"Origin": "null"}).status_code == 403


def test_same_origin_is_accepted_without_cors_headers(server: LiveServer, http: httpx.Client) -> None:
    name = unique_name()
    response = http.post(CREATE, json={"name": name}, headers={"Origin": server.url})
    assert response.status_code == 200, response.text
    assert "access-control-allow-origin" not in response.headers
    assert created(server, name)


def test_allowed_origin_is_echoed_with_vary(server: LiveServer, http: httpx.Client) -> None:
    name = unique_name()
    response = http.post(CREATE, json={"name": name}, headers={"Origin": UI_ORIGIN})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "origin" in response.headers["vary"].lower()
    assert "access-control-allow-credentials" not in response.headers
    assert created(server, name)


def test_preflight_from_allowed_origin_is_answered(http: httpx.Client) -> None:
    headers = {
        "Origin": UI_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    response = http.options(CREATE, headers=headers)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Content-Type" in response.headers["access-control-allow-headers"]
    assert_security_headers(response)


def test_preflight_from_foreign_origin_is_refused(http: httpx.Client) -> None:
    headers = {"Origin": "http://ui.example:3001", "Access-Control-Request-Method": "POST"}
    response = http.options(CREATE, headers=headers)
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


def test_text_plain_post_is_refused_and_nothing_is_written(server: LiveServer, http: httpx.Client) -> None:
    """The CSRF "simple request": a form-like text/plain POST carrying JSON."""
    name = unique_name()
    body = json.dumps({"name": name})
    response = http.post(CREATE, content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "text/plain" in response.json()["message"]
    assert not created(server, name)


def test_missing_content_type_gets_mlflow_message(server: LiveServer, http: httpx.Client) -> None:
    name = unique_name()
    response = http.post(CREATE, content=json.dumps({"name": name}).encode())
    assert "content-type" not in response.request.headers
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Bad Request. Content-Type header is missing.",
    }
    assert not created(server, name)


def test_json_with_charset_is_accepted(server: LiveServer, http: httpx.Client) -> None:
    name = unique_name()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = http.post(CREATE, content=json.dumps({"name": name}), headers=headers)
    assert response.status_code == 200, response.text
    assert created(server, name)


def test_ingest_route_refuses_text_plain(http: httpx.Client) -> None:
    response = http.post("/api/v1/metrics/ingest", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "application/x-cairn-metrics" in response.json()["message"]


def test_declared_oversized_body_is_refused_and_nothing_is_written(
    server: LiveServer, http: httpx.Client
) -> None:
    name = unique_name()
    response = http.post(CREATE, json={"name": name, "padding": "x" * (2 * BODY_LIMIT)})
    assert response.status_code == 413
    assert response.json()["error_code"] == "REQUEST_TOO_LARGE"
    assert str(BODY_LIMIT) in response.json()["message"]
    assert_security_headers(response)
    assert not created(server, name)


def test_chunked_oversized_body_is_refused_and_nothing_is_written(
    server: LiveServer, http: httpx.Client
) -> None:
    name = unique_name()
    body = json.dumps({"name": name, "padding": "x" * (4 * BODY_LIMIT)}).encode()
    chunks = iter([body[i : i + 256] for i in range(0, len(body), 256)])
    response = http.post(CREATE, content=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error_code"] == "REQUEST_TOO_LARGE"
    assert not created(server, name)


def test_chunked_body_under_the_limit_is_accepted(server: LiveServer, http: httpx.Client) -> None:
    name = unique_name()
    body = json.dumps({"name": name}).encode()
    chunks = iter([body[:5], body[5:]])
    response = http.post(CREATE, content=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert created(server, name)


def test_artifact_upload_takes_any_content_type_and_the_upload_limit(
    server: LiveServer, http: httpx.Client
) -> None:
    data = b"a" * (4 * BODY_LIMIT)  # over the JSON limit, under the upload limit
    response = http.put(UPLOAD, content=data, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text
    assert http.get(UPLOAD).content == data


def test_oversized_upload_is_refused_and_nothing_is_written(server: LiveServer, http: httpx.Client) -> None:
    path = UPLOAD.replace("data.txt", "declared-big.bin")
    response = http.put(path, content=b"b" * (UPLOAD_LIMIT + 1))
    assert response.status_code == 413
    assert http.get(path).status_code == 404


def test_chunked_oversized_upload_is_refused_and_nothing_is_written(
    server: LiveServer, http: httpx.Client
) -> None:
    path = UPLOAD.replace("data.txt", "chunked-big.bin")
    chunks = iter([b"c" * 8192] * (UPLOAD_LIMIT // 8192 + 2))
    response = http.put(path, content=chunks)
    assert response.status_code == 413
    assert response.json()["error_code"] == "REQUEST_TOO_LARGE"
    assert http.get(path).status_code == 404


def test_every_response_carries_security_headers(http: httpx.Client) -> None:
    for response in (http.get("/health"), http.get("/no/such/route"), http.get("/version")):
        assert_security_headers(response)


def test_request_id_is_echoed_or_generated(http: httpx.Client) -> None:
    assert http.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = http.get("/health", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost:5000", ("localhost", 5000)),
        ("Example.COM.", ("example.com", None)),
        ("[::1]:80", ("[::1]", 80)),
        ("[::1]", ("[::1]", None)),
        ("::1", None),
        ("host:port", None),
        ("evil.example/x", None),
        ("", None),
    ],
)
def test_split_host(value: str, expected: tuple[str, int | None] | None) -> None:
    assert split_host(value) == expected


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://ui.example", ("https", "ui.example", 443)),
        ("http://localhost:3000", ("http", "localhost", 3000)),
        ("null", None),
        ("ftp://ui.example", None),
        ("https://ui.example/path", None),
        ("https://user@ui.example", None),
    ],
)
def test_parse_origin(origin: str, expected: tuple[str, str, int] | None) -> None:
    assert parse_origin(origin) == expected


def test_wildcard_subdomains_and_any_host() -> None:
    config = ServerConfig("store", "artifacts", allowed_hosts=("*.corp.example", "tracking"))
    policy = SecurityPolicy.from_config(config)
    assert policy.host_allowed("a.corp.example:443")
    assert policy.host_allowed("tracking")
    assert not policy.host_allowed("corp.example.evil")
    assert SecurityPolicy.from_config(ServerConfig("s", "a", allowed_hosts=("*",))).host_allowed("any.where")


def test_upload_routes_are_recognised_by_method_and_path() -> None:
    assert body_kind("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/f") is BodyKind.UPLOAD
    assert body_kind("PUT", "/ajax-api/2.0/mlflow-artifacts/artifacts/f") is BodyKind.UPLOAD
    assert body_kind("PUT", "/api/v1/runs/abc/artifacts/model/file.bin") is BodyKind.UPLOAD
    assert body_kind("POST", "/api/2.0/mlflow-artifacts/artifacts/f") is BodyKind.JSON
    assert body_kind("POST", "/api/2.0/mlflow-artifacts/mpu/create/f") is BodyKind.JSON
    assert body_kind("PUT", "/api/v1/runs/abc/artifacts") is BodyKind.JSON
    assert body_kind("POST", "/api/v1/metrics/ingest") is BodyKind.INGEST


def _json_from(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Content-Type": "application/json"}


async def _accepting_app(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})


def _open_websocket(host: str, origin: str) -> list[Message]:
    middleware = SecurityMiddleware(_accepting_app, ServerConfig("s", "a", allowed_origins=(UI_ORIGIN,)))
    headers = [(b"host", host.encode()), (b"origin", origin.encode())]
    scope = {"type": "websocket", "scheme": "ws", "path": "/ws", "headers": headers}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent


@pytest.mark.parametrize(
    ("host", "origin", "accepted"),
    [
        ("127.0.0.1:5000", "http://127.0.0.1:5000", True),
        ("127.0.0.1:5000", UI_ORIGIN, True),
        ("127.0.0.1:5000", "https://evil.example", False),
        ("rebound.example", "http://rebound.example", False),
    ],
)
def test_websockets_get_the_host_and_origin_checks(host: str, origin: str, accepted: bool) -> None:
    sent = _open_websocket(host, origin)
    expected = {"type": "websocket.accept"} if accepted else {"type": "websocket.close", "code": 1008}
    assert sent == [expected]
