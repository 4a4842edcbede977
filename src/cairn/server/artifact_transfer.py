"""Streaming artifact bodies between HTTP and an artifact store, never holding a file whole in memory."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Annotated, BinaryIO
from urllib.parse import quote

import anyio.from_thread
import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from cairn.entities import ArtifactInfo
from cairn.errors import InvalidArgument, NotFound
from cairn.server.services import Services, get_services
from cairn.store.artifacts import safe_artifact_path
from cairn.store.protocols import ArtifactStore

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

DOWNLOAD_CHUNK = 1024 * 1024
ServicesDep = Annotated[Services, Depends(get_services)]
"""Route parameter: the Services of the app serving the request."""


def url_key(path: str | None, field: str = "path") -> str:
    """The canonical key of a path taken from a URL ("" for the root).

    Beyond `safe_artifact_path`, empty components (`a//b`) are refused rather than collapsed, so a
    `//host`-style spelling never silently lands somewhere else; one trailing slash is allowed.
    """
    key = safe_artifact_path(path, field)
    if path and "" in path.removesuffix("/").split("/"):
        raise InvalidArgument(
            f"{field} {path!r} is not a safe artifact path: it has an empty component ('//')"
        )
    return key


def file_key(path: str, field: str = "path") -> str:
    """The canonical key of a file or folder path taken from a URL; the store root itself is refused."""
    key = url_key(path, field)
    if not key:
        raise InvalidArgument(f"{field} {path!r} must name a file or folder below the artifact root")
    return key


def refuse_query(request: Request) -> None:
    """Refuse a query string on routes that take none, so no part of the URL goes unchecked."""
    if request.url.query:
        raise InvalidArgument(
            f"query {request.url.query[:80]!r} is not accepted on {request.method} artifact routes; "
            "the whole path must be in the URL path"
        )


async def receive_upload(request: Request, store: ArtifactStore, key: str, limit: int) -> ArtifactInfo:
    """Stream the request body into `store` as file `key`; return its size and SHA-256.

    The store writes from a worker thread that pulls body chunks from the event loop one at a time,
    so no more than one 1 MiB write buffer is held per upload. Bodies over `limit` bytes get 413
    and leave nothing.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload of {declared} bytes exceeds the limit of {limit} bytes")
    reader = _BodyReader(request.stream(), limit)
    try:
        return await anyio.to_thread.run_sync(store.log_stream, io.BufferedReader(reader), key)
    except ClientDisconnect:
        raise InvalidArgument(f"upload of {key!r} ended before the whole body arrived") from None


def download_response(store: ArtifactStore, key: str) -> StreamingResponse:
    """Open file `key` and answer with its bytes as an attachment (call from a worker thread).

    Raises:
        NotFound: if there is no file at `key`.
        InvalidArgument: if `key` is a folder.
    """
    try:
        stream = store.open(key)
    except NotFound:
        if store.list(key):
            raise InvalidArgument(f"path {key!r} is a folder; list it instead of downloading it") from None
        raise
    headers = {
        "Content-Disposition": content_disposition(key.rpartition("/")[2]),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    size = _size_of(stream)
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(_chunks(stream), media_type="application/octet-stream", headers=headers)


def content_disposition(name: str) -> str:
    """An `attachment` header value: an ASCII fallback name plus the exact UTF-8 name (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(DOWNLOAD_CHUNK):
            yield chunk


def _size_of(stream: BinaryIO) -> int | None:
    """The length of an open file, or None when the stream cannot seek."""
    try:
        if not stream.seekable():
            return None
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
    except (OSError, ValueError):
        return None
    return size


class _BodyReader(io.RawIOBase):
    """A blocking, read-only view of an async request body, for use from one worker thread."""

    def __init__(self, body: AsyncIterator[bytes], limit: int) -> None:
        self._body = body
        self._limit = limit
        self._received = 0
        self._pending = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if not self._pending and not self._done:
            self._pending = memoryview(anyio.from_thread.run(self._next_chunk))
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    async def _next_chunk(self) -> bytes:
        while True:
            try:
                chunk = await self._body.__anext__()
            except StopAsyncIteration:
                self._done = True
                return b""
            if chunk:
                break
        self._received += len(chunk)
        if self._received > self._limit:
            raise HTTPException(413, f"upload exceeds the limit of {self._limit} bytes")
        return chunk
