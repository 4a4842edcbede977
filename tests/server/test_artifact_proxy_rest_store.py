"""RestArtifactStore and TrackingClient artifacts over HTTP, against a live server and a misbehaving one."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.errors import InvalidArgument, NotFound
from cairn.store.rest.artifacts import RestArtifactStore, shared_client
from cairn.tracking.client import TrackingClient
from live_server import LiveServer


@pytest.fixture
def client(live_server: LiveServer) -> TrackingClient:
    """A client of the live server: metadata through RestStore, artifacts through the proxy."""
    return TrackingClient(live_server.url)


def test_tracking_client_artifacts_go_through_the_proxy(
    client: TrackingClient, live_server: LiveServer, tmp_path: Path
) -> None:
    run_id = client.create_run("0").info.run_id
    assert isinstance(client.artifact_store(run_id), RestArtifactStore)
    local = tmp_path / "src"
    (local / "deep").mkdir(parents=True)
    (local / "deep" / "x.bin").write_bytes(b"x" * 3000)
    (local / "y.txt").write_text("why")
    client.log_artifacts(run_id, local, "inputs")
    client.log_artifact(run_id, local / "y.txt")
    client.log_text(run_id, "hello", "notes/readme.md")

    on_disk = Path(live_server.services.config.artifacts_destination) / "0" / run_id / "artifacts"
    assert (on_disk / "inputs" / "deep" / "x.bin").read_bytes() == b"x" * 3000
    listed = client.list_artifacts(run_id)
    assert [(i.path, i.is_dir) for i in listed] == [("inputs", True), ("notes", True), ("y.txt", False)]
    (readme,) = client.list_artifacts(run_id, "notes")
    assert readme.sha256 == hashlib.sha256(b"hello").hexdigest()

    everything = Path(client.download_artifacts(run_id, dst_path=tmp_path / "all"))
    assert (everything / "inputs" / "deep" / "x.bin").read_bytes() == b"x" * 3000
    assert (everything / "notes" / "readme.md").read_text() == "hello"
    one = Path(client.download_artifacts(run_id, "inputs/y.txt", tmp_path / "one"))
    assert one == tmp_path / "one" / "inputs" / "y.txt"
    assert one.read_text() == "why"


def test_store_streams_open_and_deletes(live_server: LiveServer) -> None:
    store = RestArtifactStore(live_server.url, "space/for/tests")
    info = store.log_stream(io.BytesIO(b"0123456789" * 300_000), "s/big.bin")
    assert info.file_size == 3_000_000
    assert info.sha256 == hashlib.sha256(b"0123456789" * 300_000).hexdigest()
    with store.open("s/big.bin") as stream:
        assert stream.read(10) == b"0123456789"
        rest = stream.read()
    assert len(rest) == 2_999_990
    store.delete("s")
    assert store.list() == []
    with pytest.raises(NotFound):
        store.open("s/big.bin")


def test_store_errors_name_the_path(live_server: LiveServer, tmp_path: Path) -> None:
    store = RestArtifactStore(live_server.url, "errs")
    store.log_bytes(b"x", "folder/file.txt")
    with pytest.raises(NotFound, match="missing.txt"):
        store.download("missing.txt", tmp_path)
    with pytest.raises(InvalidArgument, match="folder"):
        store.log_bytes(b"y", "folder")
    with pytest.raises(InvalidArgument, match="'..'"):
        store.log_bytes(b"y", "../escape.txt")
    assert store.download(None, tmp_path / "d") == tmp_path / "d"
    assert (tmp_path / "d" / "folder" / "file.txt").read_bytes() == b"x"


def test_uri_resolution() -> None:
    store = RestArtifactStore.from_uri("mlflow-artifacts:/1/abc/artifacts", "http://h:5000/prefix/")
    assert (store.server_url, store.root) == ("http://h:5000/prefix", "1/abc/artifacts")
    other = RestArtifactStore.from_uri("mlflow-artifacts://other:9000/1/abc/artifacts", "https://h")
    assert other.server_url == "https://other:9000"
    with pytest.raises(InvalidArgument, match="tracking_uri"):
        RestArtifactStore.from_uri("mlflow-artifacts:/1/abc/artifacts", "/local/folder")
    with pytest.raises(InvalidArgument, match="root"):
        RestArtifactStore.from_uri("mlflow-artifacts:/", "http://h")
    with pytest.raises(InvalidArgument):
        RestArtifactStore.from_uri("mlflow-artifacts:/1/../../etc", "http://h")
    with pytest.raises(InvalidArgument):
        RestArtifactStore.from_uri("mlflow-artifacts:/1/a?x=1", "http://h")


class _HostileHandler(http.server.BaseHTTPRequestHandler):
    """Lists a traversal name for every folder, the way a malicious server would."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        body = json.dumps({"files": [{"path": "../../escaped.txt", "is_dir": False, "file_size": 1}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def hostile_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HostileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_listed_names_are_checked_before_use(hostile_url: str, tmp_path: Path) -> None:
    store = RestArtifactStore(hostile_url, "r/artifacts")
    with pytest.raises(InvalidArgument, match="escaped"):
        store.list()
    inside = tmp_path / "a" / "b"
    with pytest.raises(InvalidArgument):
        store.download(None, inside)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "a" / "escaped.txt").exists()


def test_runs_with_a_directly_reachable_location_skip_the_proxy(
    client: TrackingClient, live_server: LiveServer, tmp_path: Path
) -> None:
    direct = tmp_path / "direct"
    # The HTTP API refuses client-chosen locations; such an experiment can only come from the server side.
    experiment_id = live_server.services.store.create_experiment("direct", artifact_location=direct.as_uri())
    run_id = client.create_run(experiment_id).info.run_id
    assert not isinstance(client.artifact_store(run_id), RestArtifactStore)
    client.log_text(run_id, "local", "n.txt")
    assert [path.read_text() for path in direct.rglob("n.txt")] == ["local"]
    (record,) = client.list_artifacts(run_id)
    assert record.sha256 == hashlib.sha256(b"local").hexdigest()


_FORKING_CLIENT = """
import os, sys
from cairn.store.rest import artifacts
from cairn.store.rest.artifacts import RestArtifactStore

store = RestArtifactStore(sys.argv[1], "space/for/fork")
store.log_bytes(b"from the parent", "parent.txt")  # the parent's pool now holds a connection
pid = os.fork()
if pid == 0:
    fresh = artifacts._shared is None
    store.log_bytes(b"from the child", "child.txt")
    with store.open("child.txt") as stream:
        ok = fresh and stream.read() == b"from the child"
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
with store.open("parent.txt") as stream:
    assert stream.read() == b"from the parent"
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_stores_share_one_connection_pool_and_a_forked_child_starts_its_own(live_server: LiveServer) -> None:
    first = RestArtifactStore(live_server.url, "space/for/pool")
    first.log_bytes(b"one", "a.txt")
    pool = shared_client()
    second = RestArtifactStore(live_server.url, "space/for/pool")
    with second.open("a.txt") as stream:
        assert stream.read() == b"one"
    assert shared_client() is pool and not pool.is_closed
    done = subprocess.run(
        [sys.executable, "-c", _FORKING_CLIENT, live_server.url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
