"""Request screening as pure ASGI middleware: Host, Origin, content type, body size and security headers.

It wraps the whole app (error handlers included) and never buffers a body: artifact uploads and downloads
stream through untouched, their bytes only counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn.errors import InvalidArgument
from cairn.server.config import ServerConfig
from cairn.server.errors import error_body

JSON_TYPE = "application/json"
INGEST_PATH = "/api/v1/metrics/ingest"
INGEST_TYPES = frozenset({"application/x-cairn-metrics", JSON_TYPE})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MISSING_CONTENT_TYPE = "Bad Request. Content-Type header is missing."
STRICT_CSP = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, X-Request-ID",
    "Access-Control-Max-Age": "600",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTTP_SCHEMES = {"ws": "http", "wss": "https"}
_UPLOAD_PATHS = (
    re.compile(r"/(?:api|ajax-api)/2\.0/mlflow-artifacts/artifacts/.+"),
    re.compile(r"/api/v1/runs/[^/]+/artifacts/.+"),
)
_HOST_NAME = re.compile(r"[a-z0-9.\-_]+|\[[0-9a-f:.]+\]")


class BodyKind(Enum):
    """What a route accepts as a request body, which decides its content-type rule and size limit."""

    JSON = "json"
    UPLOAD = "upload"
    INGEST = "ingest"


def body_kind(method: str, path: str) -> BodyKind:
    """The body kind of a request: artifact uploads and metric ingestion are the exceptions to JSON."""
    if method == "PUT" and any(pattern.fullmatch(path) for pattern in _UPLOAD_PATHS):
        return BodyKind.UPLOAD
    if method == "POST" and path == INGEST_PATH:
        return BodyKind.INGEST
    return BodyKind.JSON


def split_host(value: str) -> tuple[str, int | None] | None:
    """Split a `host[:port]` value (IPv6 in brackets) into a lower-case host and port; None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        host, bracket, rest = value.partition("]")
        host, port = host + bracket, rest.removeprefix(":") if rest.startswith(":") else None
        if rest and port is None:
            return None
    else:
        host, colon, port_text = value.partition(":")
        port = port_text if colon else None
    host = host.rstrip(".") if not host.startswith("[") else host
    if not _HOST_NAME.fullmatch(host) or (port is not None and not (port.isdigit() and len(port) <= 5)):
        return None
    return host, int(port) if port is not None else None


def origin_key(scheme: str, hostport: str) -> tuple[str, str, int] | None:
    """The comparable (scheme, host, port) of an origin, default ports filled in; None if malformed."""
    scheme = scheme.lower()
    parsed = split_host(hostport)
    if scheme not in _DEFAULT_PORTS or parsed is None:
        return None
    host, port = parsed
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def parse_origin(origin: str) -> tuple[str, str, int] | None:
    """The key of an `Origin` header value such as `https://host:8443`; None for `null` or garbage."""
    scheme, sep, rest = origin.strip().partition("://")
    if not sep or not rest or any(c in rest for c in "/?#@"):
        return None
    return origin_key(scheme, rest)


@dataclass(frozen=True)
class SecurityPolicy:
    """Which hosts and origins are accepted and how large bodies may be, from the server configuration."""

    hosts: frozenset[str]
    host_suffixes: tuple[str, ...]
    any_host: bool
    origins: frozenset[tuple[str, str, int]]
    max_body_bytes: int
    max_upload_bytes: int

    @classmethod
    def from_config(cls, config: ServerConfig) -> SecurityPolicy:
        """Build the policy; an allowed origin that is not `scheme://host[:port]` is an error."""
        origins = set()
        for origin in config.allowed_origins:
            key = parse_origin(origin)
            if key is None:
                raise InvalidArgument(f"allowed origin {origin!r} must look like https://host[:port]")
            origins.add(key)
        names = [split_host(h) for h in config.allowed_hosts if h not in ("*",) and not h.startswith("*.")]
        return cls(
            hosts=frozenset(parsed[0] for parsed in names if parsed is not None),
            host_suffixes=tuple(h[1:].lower() for h in config.allowed_hosts if h.startswith("*.")),
            any_host="*" in config.allowed_hosts,
            origins=frozenset(origins),
            max_body_bytes=config.max_body_bytes,
            max_upload_bytes=config.max_upload_bytes,
        )

    def host_allowed(self, host_header: str) -> bool:
        """True when the Host header names an allowed host (its port is ignored)."""
        if self.any_host:
            return True
        parsed = split_host(host_header)
        if parsed is None:
            return False
        host = parsed[0]
        return host in self.hosts or any(host.endswith(suffix) for suffix in self.host_suffixes)

    def limit_for(self, kind: BodyKind) -> int:
        """The largest body accepted for a kind of route."""
        return self.max_upload_bytes if kind is BodyKind.UPLOAD else self.max_body_bytes


def content_type_problem(method: str, kind: BodyKind, headers: Headers) -> str | None:
    """Why a request's content type is refused, or None when it is acceptable."""
    if method not in BODY_METHODS or kind is BodyKind.UPLOAD:
        return None
    content_type = headers.get("content-type")
    has_body = headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers
    if content_type is None:
        return MISSING_CONTENT_TYPE if has_body else None
    media_type = content_type.partition(";")[0].strip().lower()
    accepted = INGEST_TYPES if kind is BodyKind.INGEST else frozenset({JSON_TYPE})
    if media_type in accepted:
        return None
    return f"Bad Request. Content-Type must be one of {sorted(accepted)}, not {media_type!r}."


def declared_size_problem(headers: Headers, limit: int) -> tuple[int, str] | None:
    """A (status, message) refusal for a malformed or too large `Content-Length`, or None."""
    declared = headers.get("content-length")
    if declared is None:
        return None
    if not declared.strip().isdigit():
        return 400, f"Content-Length {declared[:40]!r} is not a byte count"
    if int(declared) > limit:
        return 413, f"request body of {int(declared)} bytes exceeds the limit of {limit} bytes"
    return None


class SecurityMiddleware:
    """Screens every HTTP request before the app sees it and adds security headers to every response.

    - Host must be allowed (DNS rebinding) -> 400.
    - A cross-origin `Origin` must be in the allowed origins -> else 403, for every method; allowed ones
      get their origin echoed with `Vary: Origin`, and preflights are answered here.
    - Bodies of POST/PUT/PATCH/DELETE must be JSON, except artifact uploads and metric ingestion -> 400.
    - Bodies over the size limit -> 413: from `Content-Length` before reading, else counted as they stream.
    """

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.policy = SecurityPolicy.from_config(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Screen one request, then pass it on with a size-limited body and header-adding send."""
        if scope["type"] == "websocket":
            await self._screen_websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method: str = scope["method"]
        refusal = self._peer_refusal(scope, headers)
        if refusal is not None:
            await _refuse(*refusal, scope, receive, _secured(send, scope, None))
            return
        cors_origin = self._judge_origin(scope, headers)[1]
        secured = _secured(send, scope, cors_origin)
        if cors_origin and method == "OPTIONS" and "access-control-request-method" in headers:
            await Response(status_code=204, headers=PREFLIGHT_HEADERS)(scope, receive, secured)
            return
        if await self._refuse_body(scope, receive, secured, headers):
            return
        limiter = _BodyLimit(scope, receive, secured, self.policy.limit_for(body_kind(method, scope["path"])))
        await self.app(scope, limiter.receive, limiter.send)

    async def _screen_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """WebSockets get the same Host and Origin checks; a refused one is closed before it opens."""
        if self._peer_refusal(scope, Headers(scope=scope)) is None:
            await self.app(scope, receive, send)
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})

    def _peer_refusal(self, scope: Scope, headers: Headers) -> tuple[int, str, str] | None:
        """(status, error code, message) when the Host or the Origin of a request is refused."""
        host = headers.get("host", "")
        if not self.policy.host_allowed(host):
            message = f"Host header {host[:100]!r} is not allowed; start the server with --allowed-hosts"
            return 400, "BAD_REQUEST", message
        if not self._judge_origin(scope, headers)[0]:
            message = f"cross-origin request from Origin {headers['origin'][:100]!r} is not allowed"
            return 403, "PERMISSION_DENIED", message
        return None

    def _judge_origin(self, scope: Scope, headers: Headers) -> tuple[bool, str | None]:
        """Whether the request's origin is accepted, and the origin to echo for an allowed cross origin."""
        origin = headers.get("origin")
        if origin is None:
            return True, None
        key = parse_origin(origin)
        scheme = str(scope["scheme"])
        scheme = _HTTP_SCHEMES.get(scheme, scheme)
        if key is not None and key == origin_key(scheme, headers.get("host", "")):
            return True, None
        if key is not None and key in self.policy.origins:
            return True, origin
        return False, None

    async def _refuse_body(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> bool:
        """Answer 400 or 413 for a refused content type or declared size; True when it answered."""
        kind = body_kind(scope["method"], scope["path"])
        problem = content_type_problem(scope["method"], kind, headers)
        if problem is not None:
            await _refuse(400, "INVALID_PARAMETER_VALUE", problem, scope, receive, send)
            return True
        size_problem = declared_size_problem(headers, self.policy.limit_for(kind))
        if size_problem is not None:
            status, message = size_problem
            code = "REQUEST_TOO_LARGE" if status == 413 else "BAD_REQUEST"
            await _refuse(status, code, message, scope, receive, send)
            return True
        return False


class _BodyLimit:
    """Counts request body bytes; past the limit it answers 413 itself and tells the app the client left.

    The app then sees `http.disconnect` (so it stores nothing) and whatever it tries to send is dropped.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._limit = limit
        self._received = 0
        self._tripped = False
        self._answered = False
        self._started = False

    async def receive(self) -> Message:
        """The next body message, or a disconnect once the body went over the limit."""
        if self._tripped:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit:
                self._tripped = True
                if not self._started:
                    self._answered = self._started = True
                    text = f"request body exceeds the limit of {self._limit} bytes"
                    await _refuse(413, "REQUEST_TOO_LARGE", text, self._scope, self._receive, self._send)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        """Forward the app's response unless a 413 was already sent in its place."""
        if self._answered:
            return
        if message["type"] == "http.response.start":
            self._started = True
        await self._send(message)


def _secured(send: Send, scope: Scope, cors_origin: str | None) -> Send:
    """Wrap `send` so every response carries the security headers (and CORS ones for an allowed origin)."""
    csp = DOCS_CSP if scope["path"] in DOCS_PATHS else STRICT_CSP

    async def send_secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.setdefault("X-Content-Type-Options", "nosniff")
            headers.setdefault("Content-Security-Policy", csp)
            headers.setdefault("Referrer-Policy", "no-referrer")
            headers.setdefault("X-Frame-Options", "DENY")
            if cors_origin is not None:
                headers["Access-Control-Allow-Origin"] = cors_origin
                headers.add_vary_header("Origin")
        await send(message)

    return send_secured


async def _refuse(status: int, code: str, message: str, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a refused request with the JSON error shape."""
    await JSONResponse(error_body(code, message), status_code=status)(scope, receive, send)
