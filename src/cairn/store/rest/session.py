"""The HTTP session of a RestStore: one keep-alive connection pool, timeouts, retries and error decoding."""

from __future__ import annotations

import contextlib
import os
import random
import time
import weakref
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import httpx

from cairn.errors import InvalidArgument
from cairn.store.rest.errors import ServerUnavailable, error_from_response

RETRY_STATUSES = frozenset({502, 503, 504})
_MAX_RETRY_AFTER_S = 30.0


@dataclass(frozen=True)
class HttpOptions:
    """How a RestStore talks to its server.

    Attributes:
        timeout: Seconds to wait for a response (read, write and pool) before giving up on an attempt.
        connect_timeout: Seconds to wait for a connection; small, so that a dead server is noticed soon.
        retries: Further attempts after a transient failure (connection error, 502, 503, 504).
        backoff: Seconds before the first retry; each later retry waits twice as long (with jitter).
        keepalive_expiry: Seconds an idle pooled connection is kept; below the server's keep-alive timeout.
    """

    timeout: float = 60.0
    connect_timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.2
    keepalive_expiry: float = 3.0


class HttpSession:
    """Sends requests to one server with retries; non-2xx answers become the matching CairnError.

    Args:
        base_url: The server, `http(s)://host[:port][/prefix]`.
        options: Timeouts and retry policy.
        headers: Extra headers sent with every request (for example `Authorization`).
    """

    def __init__(
        self, base_url: str, options: HttpOptions | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.options = options or HttpOptions()
        self.base_url = base_url.rstrip("/")
        self._headers = {"User-Agent": _user_agent(), **(headers or {})}
        self._client = self._new_client()
        _LIVE_SESSIONS.add(self)

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.options.timeout, connect=self.options.connect_timeout),
            limits=httpx.Limits(keepalive_expiry=self.options.keepalive_expiry),
            headers=self._headers,
            follow_redirects=False,
        )

    def _after_fork_in_child(self) -> None:
        # The pooled sockets are shared with the parent; a child talking on them would garble both.
        self._client = self._new_client()

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request and return its 2xx response.

        Transient failures are retried with exponential back-off: connection failures always when the
        request provably never reached the server, and timeouts, dropped connections and 502/503/504 only
        when `idempotent` (repeating the request cannot apply it twice).

        Raises:
            ServerUnavailable: the server stayed unreachable or unavailable through every retry.
            CairnError: the subclass matching the server's error response.
        """
        attempt = 0
        while True:
            try:
                response = self._client.request(
                    method, path, json=json, content=content, params=params, headers=headers
                )
            except httpx.TransportError as error:
                if attempt >= self.options.retries or not _may_retry(error, idempotent):
                    raise self._unavailable(method, path, error, attempt) from error
                self._sleep(attempt, None)
                attempt += 1
                continue
            if response.is_success:
                return response
            if response.status_code in RETRY_STATUSES:
                if idempotent and attempt < self.options.retries:
                    self._sleep(attempt, response.headers.get("Retry-After"))
                    attempt += 1
                    continue
                raise ServerUnavailable(
                    f"the Cairn server at {self.base_url} answered {method} {path} with "
                    f"{response.status_code} after {attempt + 1} attempt(s): {_snippet(response)}"
                )
            raise error_from_response(response)

    def close(self) -> None:
        """Close every pooled connection."""
        self._client.close()

    def _unavailable(self, method: str, path: str, error: Exception, attempt: int) -> ServerUnavailable:
        reason = str(error) or type(error).__name__
        return ServerUnavailable(
            f"cannot reach the Cairn server at {self.base_url} ({method} {path}, "
            f"{attempt + 1} attempt(s)): {reason}"
        )

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.options.backoff * 2**attempt * (0.5 + random.random())
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                delay = max(delay, min(float(retry_after), _MAX_RETRY_AFTER_S))
        time.sleep(delay)


def check_base_url(url: str) -> str:
    """Check that a tracking URI is an `http(s)://host...` URL and return it without a trailing slash."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InvalidArgument(f"tracking URI {url!r} is not a valid URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidArgument(f"tracking URI {url!r} must be http://host[:port] or https://host[:port]")
    if parsed.query or parsed.fragment:
        raise InvalidArgument(f"tracking URI {url!r} must not carry a query or fragment")
    return url.rstrip("/")


def _user_agent() -> str:
    try:
        return f"cairn/{metadata.version('cairn')}"
    except metadata.PackageNotFoundError:
        return "cairn"


def _may_retry(error: httpx.TransportError, idempotent: bool) -> bool:
    # A refused or timed-out connection never delivered the request, so even a create may be repeated.
    return idempotent or isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip()
    return text[:200] if text else "(empty body)"


_LIVE_SESSIONS: weakref.WeakSet[HttpSession] = weakref.WeakSet()


def _reset_sessions_after_fork() -> None:
    for session in list(_LIVE_SESSIONS):
        session._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_sessions_after_fork)
