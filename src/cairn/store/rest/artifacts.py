"""RestArtifactStore: the files under one artifact root, through a tracking server's artifact proxy."""

from __future__ import annotations

import atexit
import builtins
import hashlib
import io
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from cairn.entities import ArtifactInfo
from cairn.errors import CairnError, InvalidArgument, NotFound
from cairn.store.artifacts.local_files import write_atomically
from cairn.store.artifacts.local_tree import plan_local_tree
from cairn.store.artifacts.paths import join_key, safe_artifact_path
from cairn.store.rest.errors import error_from_response

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

PROXY_SCHEME = "mlflow-artifacts"
PROXY_PATH = "/api/2.0/mlflow-artifacts/artifacts"
CHUNK_SIZE = 1024 * 1024
TIMEOUT = httpx.Timeout(300.0, connect=30.0)
_KEEPALIVE_EXPIRY_S = 3.0  # below uvicorn's 5 s keep-alive: a pooled connection is never one it closed
_shared: httpx.Client | None = None
_shared_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """The pooled client of every RestArtifactStore made without one.

    Creating an httpx client costs about 20 ms (it builds an SSL context), which used to be paid by each
    artifact operation; one pool per process also keeps connections alive between operations.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            limits = httpx.Limits(keepalive_expiry=_KEEPALIVE_EXPIRY_S)
            _shared = httpx.Client(timeout=TIMEOUT, limits=limits)
        return _shared


def _forget_shared_client() -> None:
    # In a forked child the pooled sockets belong to the parent: start a new pool, never close theirs.
    global _shared, _shared_lock
    _shared = None
    _shared_lock = threading.Lock()


def _close_shared_client() -> None:
    if _shared is not None:
        _shared.close()


os.register_at_fork(after_in_child=_forget_shared_client)
atexit.register(_close_shared_client)


class RestArtifactStore:
    """An ArtifactStore over the `mlflow-artifacts` proxy of a Cairn (or MLflow) tracking server.

    Files are streamed both ways; sizes and SHA-256 digests are computed here while uploading. Names
    the server lists are checked like any other path before they are used locally.

    Args:
        server_url: The tracking server, `http(s)://host[:port][/prefix]`.
        root: The root's path under the server's artifact destination, e.g. `1/<run_id>/artifacts`.
        http: A client to send requests with (kept open by its owner); by default the process's
            shared pool (`shared_client`).
    """

    def __init__(self, server_url: str, root: str, *, http: httpx.Client | None = None) -> None:
        scheme = urlsplit(server_url).scheme
        if scheme not in ("http", "https"):
            raise InvalidArgument(f"server_url {server_url!r} must be an http:// or https:// URL")
        self.root = safe_artifact_path(root, "root")
        if not self.root:
            raise InvalidArgument(f"root {root!r} must name a folder below the server's artifact root")
        self.server_url = server_url.rstrip("/")
        self._http = http

    @classmethod
    def from_uri(
        cls, artifact_uri: str, tracking_uri: str, *, http: httpx.Client | None = None
    ) -> RestArtifactStore:
        """The store for a `mlflow-artifacts:/<path>` URI, reached through the http(s) tracking URI.

        As with MLflow, `mlflow-artifacts://host:port/<path>` names another server on the tracking
        URI's scheme.
        """
        parts = urlsplit(artifact_uri)
        if parts.scheme != PROXY_SCHEME or parts.query or parts.fragment:
            raise InvalidArgument(f"artifact URI {artifact_uri!r} is not a plain {PROXY_SCHEME}:/<path> URI")
        tracking = urlsplit(tracking_uri)
        if tracking.scheme not in ("http", "https") or not tracking.netloc:
            raise InvalidArgument(
                f"artifact URI {artifact_uri!r} is served by a tracking server, but tracking_uri "
                f"{tracking_uri!r} is not an http(s):// server URL"
            )
        server = urlunsplit((tracking.scheme, parts.netloc or tracking.netloc, tracking.path, "", ""))
        return cls(server, parts.path.lstrip("/"), http=http)

    def __repr__(self) -> str:
        return f"RestArtifactStore({self.server_url!r}, {self.root!r})"

    def log_file(self, local_file: str | Path, artifact_path: str | None = None) -> ArtifactInfo:
        """Upload a local file into folder `artifact_path`, keeping its name."""
        local = Path(local_file)
        folder = safe_artifact_path(artifact_path, "artifact_path")
        if not local.is_file():
            raise NotFound(f"local_file {str(local)!r} does not exist or is not a file")
        key = safe_artifact_path(join_key(folder, local.name), "local_file")
        with self._session() as http, local.open("rb") as source:
            return self._upload(http, key, source, local.stat().st_size)

    def log_bytes(self, data: bytes, artifact_file: str) -> ArtifactInfo:
        """Upload `data` as file `artifact_file`."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidArgument(f"data must be bytes, got {type(data).__name__}")
        key = _file_key(artifact_file)
        with self._session() as http:
            return self._upload(http, key, io.BytesIO(data), len(data))

    def log_stream(self, stream: BinaryIO, artifact_file: str) -> ArtifactInfo:
        """Upload a binary stream as file `artifact_file`, in 1 MiB chunks."""
        key = _file_key(artifact_file)
        with self._session() as http:
            return self._upload(http, key, stream, None)

    def log_dir(self, local_dir: str | Path, artifact_path: str | None = None) -> list[ArtifactInfo]:
        """Upload every file under `local_dir` into folder `artifact_path`; all entries are checked first."""
        folder = safe_artifact_path(artifact_path, "artifact_path")
        planned = plan_local_tree(local_dir)
        keys = [
            safe_artifact_path(join_key(folder, item.relative_key), "local_dir entry") for item in planned
        ]
        infos = []
        with self._session() as http:
            for item, key in zip(planned, keys, strict=True):
                with item.source.open("rb") as source:
                    infos.append(self._upload(http, key, source, item.source.stat().st_size))
        return sorted(infos, key=lambda info: info.path)

    def list(self, path: str | None = None) -> list[ArtifactInfo]:
        """List the direct children of folder `path`; [] for a file or a missing folder."""
        with self._session() as http:
            return self._list(http, safe_artifact_path(path))

    def open(self, path: str) -> BinaryIO:
        """Open a file for streaming reads; closing the stream ends the download."""
        key = _file_key(path, "path")
        http = self._http or shared_client()
        response = _send(http, http.build_request("GET", self._url(key)), stream=True)
        return io.BufferedReader(_ResponseReader(response), CHUNK_SIZE)

    def download(self, path: str | None, dst_dir: str | Path) -> Path:
        """Copy a file or folder to `dst_dir / path` (the whole root to `dst_dir` when None)."""
        key = safe_artifact_path(path)
        dst = Path(dst_dir)
        target = dst.joinpath(*key.split("/")) if key else dst
        with self._session() as http:
            children = self._list(http, key)
            if children or not key:
                target.mkdir(parents=True, exist_ok=True)
                self._download_tree(http, children, dst)
            else:
                self._fetch(http, key, target)
        return target

    def delete(self, path: str | None = None) -> None:
        """Delete a file or folder (the whole root when None); nothing there is not an error."""
        key = safe_artifact_path(path)
        with self._session() as http:
            _send(http, http.build_request("DELETE", self._url(key)))

    @contextmanager
    def _session(self) -> Iterator[httpx.Client]:
        yield self._http or shared_client()

    def _url(self, key: str) -> str:
        full = join_key(self.root, key)
        return f"{self.server_url}{PROXY_PATH}/{quote(full, safe='/')}"

    def _upload(self, http: httpx.Client, key: str, source: BinaryIO, size: int | None) -> ArtifactInfo:
        body = _HashingBody(source)
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["Content-Length"] = str(size)
        _send(http, http.build_request("PUT", self._url(key), content=iter(body), headers=headers))
        return ArtifactInfo(path=key, is_dir=False, file_size=body.size, sha256=body.hexdigest())

    def _list(self, http: httpx.Client, key: str) -> builtins.list[ArtifactInfo]:
        request = http.build_request(
            "GET", f"{self.server_url}{PROXY_PATH}", params={"path": join_key(self.root, key)}
        )
        payload = _send(http, request).json()
        infos = []
        for entry in payload.get("files", []) if isinstance(payload, dict) else []:
            infos.append(_listed_child(key, entry))
        return sorted(infos, key=lambda info: info.path)

    def _download_tree(self, http: httpx.Client, children: builtins.list[ArtifactInfo], dst: Path) -> None:
        for child in children:
            local = dst.joinpath(*child.path.split("/"))
            if child.is_dir:
                local.mkdir(parents=True, exist_ok=True)
                self._download_tree(http, self._list(http, child.path), dst)
            else:
                self._fetch(http, child.path, local)

    def _fetch(self, http: httpx.Client, key: str, target: Path) -> None:
        response = _send(http, http.build_request("GET", self._url(key)), stream=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        with io.BufferedReader(_ResponseReader(response), CHUNK_SIZE) as source:
            write_atomically(target, source)


def _file_key(artifact_file: str, field: str = "artifact_file") -> str:
    key = safe_artifact_path(artifact_file, field)
    if not key:
        raise InvalidArgument(f"{field} must name a file, not the root folder")
    return key


def _listed_child(folder: str, entry: Any) -> ArtifactInfo:
    """Turn one listed entry into an ArtifactInfo, refusing names that are not a single safe component."""
    name = entry.get("path") if isinstance(entry, dict) else None
    if (
        not isinstance(name, str)
        or not name
        or "/" in name
        or safe_artifact_path(name, "listed name") != name
    ):
        raise InvalidArgument(f"the server listed an entry {entry!r} that is not a plain file or folder name")
    is_dir = bool(entry.get("is_dir"))
    size = entry.get("file_size")
    return ArtifactInfo(join_key(folder, name), is_dir, None if is_dir or size is None else int(size))


def _send(http: httpx.Client, request: httpx.Request, stream: bool = False) -> httpx.Response:
    """Send a request; a server error becomes the matching CairnError, naming the server's message."""
    try:
        response = http.send(request, stream=stream)
    except httpx.TransportError as exc:
        raise CairnError(f"cannot reach the artifact server at {request.url}: {exc}") from exc
    if response.status_code < 400:
        return response
    try:
        response.read()
    finally:
        response.close()
    raise error_from_response(response)


class _HashingBody:
    """Iterates a binary stream in chunks, measuring its size and SHA-256 on the way.

    From the second chunk on, each chunk is hashed on a helper thread while the next one is read and
    sent (hashlib lets go of the GIL for large buffers), so hashing adds little to the wall time of a
    large upload; at most one chunk waits to be hashed.
    """

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.size = 0
        self._hasher = hashlib.sha256()
        self._pending: Future[None] | None = None

    def __iter__(self) -> Iterator[bytes]:
        helper: ThreadPoolExecutor | None = None
        try:
            while chunk := self.source.read(CHUNK_SIZE):
                if not isinstance(chunk, bytes | bytearray):
                    raise InvalidArgument(f"stream must be opened in binary mode, got {type(chunk).__name__}")
                data = bytes(chunk)
                if self.size == 0:
                    self._hasher.update(data)
                else:
                    helper = helper or ThreadPoolExecutor(1, thread_name_prefix="cairn-upload-hash")
                    self._wait_for_hash()
                    self._pending = helper.submit(self._hasher.update, data)
                self.size += len(data)
                yield data
            self._wait_for_hash()
        finally:
            if helper is not None:
                helper.shutdown(wait=True)

    def hexdigest(self) -> str:
        """The SHA-256 of everything read so far."""
        self._wait_for_hash()
        return self._hasher.hexdigest()

    def _wait_for_hash(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None


class _ResponseReader(io.RawIOBase):
    """A readable raw stream over a streamed HTTP response body; closing it closes the response."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._chunks = response.iter_bytes()
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            try:
                chunk = next(self._chunks, None)
            except httpx.TransportError as exc:
                raise CairnError(f"download from {self._response.url} broke off: {exc}") from exc
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()
