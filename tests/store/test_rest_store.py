"""RestStore against a live server: retries that never double-apply, chunking, errors, and a dead server."""

from __future__ import annotations

import os
import socket
import threading
import warnings
from array import array
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import cairn
from cairn.entities import ArtifactInfo, Dataset, DatasetInput, InputTag, RunStatus, RunTag, ViewType
from cairn.errors import AlreadyExists, CairnError, Conflict, InvalidArgument, NotFound, PermissionDenied
from cairn.settings import Settings
from cairn.store.protocols import PurgeStore, TrackingStore
from cairn.store.resolve import open_tracking_store
from cairn.store.rest import HttpOptions, RestStore, ServerUnavailable
from cairn.store.rest.errors import error_from_response
from live_server import LiveServer, serve

FAST = HttpOptions(retries=2, backoff=0.01)
INGEST = "/api/v1/metrics/ingest"


class FlakyProxy:
    """A real HTTP proxy in front of a server that misbehaves on purpose.

    `faults` holds (method, path fragment, action) entries, each used by the first request that matches:
    "drop" forwards the request and then hangs up without answering (a lost response), "503" answers
    503 without forwarding. Every other request is relayed faithfully.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[tuple[str, str, str]] = []
        self.bodies: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=upstream, timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:
                proxy.relay(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def relay(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self._lock:
            self.bodies.append((handler.path, body))
            action = next((f for f in self.faults if f[0] == handler.command and f[1] in handler.path), None)
            if action is not None:
                self.faults.remove(action)
        if action is not None and action[2] == "503":
            handler.send_response(503)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        upstream = self._client.request(handler.command, handler.path, content=body, headers=headers)
        if action is not None and action[2] == "drop":
            handler.close_connection = True
            return
        handler.send_response(upstream.status_code)
        for key, value in upstream.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(upstream.content)))
        handler.end_headers()
        handler.wfile.write(upstream.content)

    def ingest_bodies(self) -> list[bytes]:
        return [body for path, body in self.bodies if path == INGEST]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: every test here makes its own runs and experiment names."""
    folder = tmp_path_factory.mktemp("rest-store")
    server = serve(str(folder / "store"), folder / "artifacts")
    yield server
    server.stop()


@pytest.fixture
def proxy(live_server: LiveServer) -> Iterator[FlakyProxy]:
    with FlakyProxy(live_server.url) as running:
        yield running


@pytest.fixture
def store(live_server: LiveServer) -> Iterator[RestStore]:
    opened = RestStore(live_server.url, FAST)
    yield opened
    opened.close()


def _run(store: TrackingStore, experiment_id: str = "0") -> str:
    return store.create_run(experiment_id, "u", 1, "r").info.run_id


def _cols(n: int, value: float = 1.0) -> tuple[array[int], array[int], array[float]]:
    return array("q", range(n)), array("q", [5] * n), array("d", [value + i for i in range(n)])


def test_a_lost_response_is_retried_with_the_same_batch_id_and_applied_once(proxy: FlakyProxy) -> None:
    store = RestStore(proxy.url, FAST)
    run_id = _run(store)
    proxy.faults.append(("POST", INGEST, "drop"))
    store.append_metric_columns({(run_id, "loss"): _cols(3)})
    first, second = proxy.ingest_bodies()
    assert first == second  # the retry carried the same batch id
    assert list(store.get_metric_history(run_id, "loss").values) == [1.0, 2.0, 3.0]
    store.close()


def test_a_batch_sent_again_after_the_retries_ran_out_reuses_its_id(proxy: FlakyProxy) -> None:
    store = RestStore(proxy.url, HttpOptions(retries=1, backoff=0.01))
    run_id = _run(store)
    batch = {(run_id, "m"): _cols(4)}
    proxy.faults += [("POST", INGEST, "drop"), ("POST", INGEST, "drop")]
    with pytest.raises(ServerUnavailable, match=proxy.url):
        store.append_metric_columns(batch)  # applied by the server, but no answer ever came back
    store.append_metric_columns(batch)  # what the metric buffer does at its next flush
    assert len(set(proxy.ingest_bodies())) == 1
    assert len(store.get_metric_history(run_id, "m")) == 4
    store.append_metric_columns({(run_id, "m"): _cols(1)})  # new columns get a new id
    assert len(store.get_metric_history(run_id, "m")) == 5
    store.close()


def test_503_is_retried_for_idempotent_calls_only(proxy: FlakyProxy) -> None:
    store = RestStore(proxy.url, FAST)
    run_id = _run(store)
    proxy.faults.append(("POST", INGEST, "503"))
    store.append_metric_columns({(run_id, "m"): _cols(2)})
    assert len(store.get_metric_history(run_id, "m")) == 2
    proxy.faults.append(("POST", "/api/v1/experiments", "503"))
    with pytest.raises(ServerUnavailable, match="503"):
        store.create_experiment("maybe")  # a create is not repeated: it may have been applied
    store.create_experiment("maybe")
    store.close()


def test_large_batches_go_in_chunks_and_arrive_whole_and_in_order(proxy: FlakyProxy) -> None:
    store = RestStore(proxy.url, FAST, max_ingest_bytes=4096)
    runs = [_run(store), _run(store)]
    columns = {(run_id, key): _cols(500, float(i)) for i, run_id in enumerate(runs) for key in ("a", "b")}
    store.append_metric_columns(columns)
    assert len(proxy.ingest_bodies()) > 4 and all(len(body) <= 4096 for body in proxy.ingest_bodies())
    for (run_id, key), cols in columns.items():
        history = store.get_metric_history(run_id, key)
        assert history.values == cols[2] and history.steps == cols[0]
    with pytest.raises(InvalidArgument, match="differ in length"):
        store.append_metric_columns({(runs[0], "x"): (array("q", [1]), array("q"), array("d"))})
    store.close()


def test_errors_come_back_as_the_matching_cairn_errors(store: RestStore, live_server: LiveServer) -> None:
    run_id = _run(store)
    with pytest.raises(NotFound, match="does not exist"):
        store.get_run("0" * 32)
    store.create_experiment("taken")
    with pytest.raises(AlreadyExists, match="taken"):
        store.create_experiment("taken")
    store.log_batch(run_id, tags=[RunTag("t", "v")])
    with pytest.raises(InvalidArgument, match="artifact_location"):
        store.create_experiment("placed", artifact_location="s3://bucket/x")
    with pytest.raises(InvalidArgument, match="run_id"):
        store.get_run("../x")  # refused before any request: an id is never a path
    elsewhere = RestStore(live_server.url + "/not-cairn", FAST)
    with pytest.raises(CairnError, match="no endpoint") as raised:
        elsewhere.find_experiment_by_name("taken")
    assert not isinstance(raised.value, NotFound)
    elsewhere.close()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (409, {"error_code": "INVALID_PARAMETER_VALUE", "message": "m"}, Conflict),
        (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "m"}, InvalidArgument),
        (409, {"error_code": "RESOURCE_ALREADY_EXISTS", "message": "m"}, AlreadyExists),
        (403, {"error_code": "PERMISSION_DENIED", "message": "m"}, PermissionDenied),
        (401, None, PermissionDenied),
        (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "m"}, NotFound),
        (413, None, InvalidArgument),
        (500, {"error_code": "INTERNAL_ERROR", "message": "m"}, CairnError),
    ],
)
def test_error_codes_and_statuses_map_to_error_classes(
    status: int, body: dict[str, str] | None, expected: type[CairnError]
) -> None:
    request = httpx.Request("GET", "http://server/api/v1/runs/x")
    response = (
        httpx.Response(status, json=body, request=request)
        if body
        else httpx.Response(status, request=request)
    )
    error = error_from_response(response)
    assert type(error) is expected
    assert error.message.endswith(": m") or error.message == "m" if body else str(status) in error.message


def test_a_server_that_is_down_gives_a_clear_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    store = RestStore(url, FAST)
    with pytest.raises(ServerUnavailable, match=f"cannot reach the Cairn server at {url}") as raised:
        store.get_experiment("0")
    assert not isinstance(raised.value, CairnError)  # nothing was refused: buffered points are kept
    assert "3 attempt(s)" in str(raised.value)
    store.close()
    client = cairn.TrackingClient(url, settings=Settings(capture_code=False, capture_environment=False))
    with pytest.raises(ServerUnavailable, match="4 attempt"):  # the default policy: three retries
        client.create_experiment("x")


@pytest.mark.parametrize("url", ["http://", "ftp://host", "http://host/?q=1", "http://host/#f"])
def test_bad_server_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgument, match="tracking URI"):
        RestStore(url)


def test_http_tracking_uris_open_a_rest_store(live_server: LiveServer) -> None:
    store = open_tracking_store(live_server.url.upper().replace("HTTP", "http", 1) + "/", Settings())
    assert isinstance(store, RestStore) and isinstance(store, PurgeStore)
    assert store.get_experiment("0").name == "Default"
    store.close()


def test_fluent_api_over_a_server(live_server: LiveServer) -> None:
    cairn.set_tracking_uri(live_server.url)
    with cairn.start_run(run_name="remote") as run:
        cairn.log_param("lr", 0.1)
        cairn.set_tag("team", "nlp")
        for step in range(20):
            cairn.log_metric("loss", 1 / (step + 1), step=step)
    remote = RestStore(live_server.url, FAST)
    fetched = remote.get_run(run.info.run_id)
    assert fetched.info.status is RunStatus.FINISHED and fetched.data.params == {"lr": "0.1"}
    assert fetched.data.tags["team"] == "nlp" and fetched.data.metrics["loss"] == 1 / 20
    assert len(remote.get_metric_history(run.info.run_id, "loss")) == 20
    remote.close()


def test_purge_inputs_experiment_tags_and_many_artifact_records(store: RestStore) -> None:
    exp = store.create_experiment("gone", tags={"a": "1", "b": "2"})
    store.delete_experiment_tag(exp, "a")
    assert dict(store.get_experiment(exp).tags) == {"b": "2"}
    with pytest.raises(NotFound, match="'a'"):
        store.delete_experiment_tag(exp, "a")
    run_id = _run(store, exp)
    data = DatasetInput(
        Dataset("iris", "d1", "local", '{"p": 1}', schema="{}"), (InputTag("mlflow.data.context", "train"),)
    )
    store.log_inputs(run_id, [data])
    assert store.get_run(run_id).inputs.dataset_inputs == (data,)
    files = [ArtifactInfo(f"f/{i}.txt", False, i, f"{i:064x}") for i in range(6000)]
    store.record_artifacts(run_id, files)
    assert len(store.get_artifact_records(run_id, "f")) == 6000
    store.delete_run(run_id)
    assert (run_id, store.get_run(run_id).info.artifact_uri) in store.find_deleted_runs()
    store.delete_experiment(exp)
    with pytest.raises(InvalidArgument, match="list"):
        store.purge_runs(run_id)
    store.purge_runs([run_id])
    store.purge_experiments([exp])
    with pytest.raises(NotFound):
        store.get_run(run_id)
    assert store.search_experiments(ViewType.ALL, filter_string="name = 'gone'") == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_talks_on_its_own_connections(store: RestStore) -> None:
    assert store.get_experiment("0").name == "Default"  # the pool now holds a kept-alive connection
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads alive (the server's)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            for i in range(20):
                store.set_experiment_tag("0", f"child{i}", "x")
        except BaseException:
            code = 1
        os._exit(code)
    for i in range(20):
        store.set_experiment_tag("0", f"parent{i}", "y")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    tags = store.get_experiment("0").tags
    assert {f"child{i}" for i in range(20)} | {f"parent{i}" for i in range(20)} <= set(tags)
