"""Path-traversal regression suite: every spelling from MLflow's CVE record, against every artifact route.

Requests are written byte for byte on a socket, so no client library normalises `..`, `\\`, `#` or NUL
away. Every request must get 400 or 404, nothing outside the artifact destination may be read, written
or removed, and nothing may be written inside it either.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from live_server import LiveServer, serve

SECRET = f"sentinel-{uuid.uuid4().hex}"
DEST_DEPTH = 1
"""`..` steps from the destination root up to the arena folder holding `outside/`."""
RUN_DEPTH = 4
"""`..` steps from a run's artifact root (`<dest>/0/<run_id>/artifacts`) up to the arena folder."""


@dataclass(frozen=True)
class Arena:
    """A live server, its destination, and sentinel files next to it that attacks aim at."""

    server: LiveServer
    root: Path
    dest: Path
    run_id: str

    @property
    def run_dir(self) -> Path:
        return self.dest / "0" / self.run_id / "artifacts"


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    root = tmp_path_factory.mktemp("arena")
    (root / "outside").mkdir()
    (root / "outside" / "secret.txt").write_text(SECRET)
    (root / "secret.txt").write_text(SECRET)
    dest = root / "dest"
    server = serve(str(root / "store"), dest)
    run_id = server.services.store.create_run("0", "attacker", 0, "target").info.run_id
    found = Arena(server, root, dest, run_id)
    found.run_dir.mkdir(parents=True)
    (found.run_dir / "inside.txt").write_text("harmless")
    (found.run_dir / "link_dir").symlink_to(root / "outside", target_is_directory=True)
    (found.run_dir / "link_file").symlink_to(root / "outside" / "secret.txt")
    (dest / "escape").symlink_to(root, target_is_directory=True)
    yield found
    server.stop()


def _snapshot(arena: Arena) -> dict[str, str]:
    """Every entry under the arena except the metadata store: kind plus content digest or link target."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(arena.root):
        if Path(dirpath) == arena.root:
            dirnames.remove("store")
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            if path.is_symlink():
                entries[str(path)] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                entries[str(path)] = "dir"
            else:
                entries[str(path)] = "file:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def raw_request(url: str, method: str, target: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send exactly `METHOD target HTTP/1.1` on a fresh connection; return the status and the raw reply."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = b"%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % (
        method.encode(),
        target,
        host.encode(),
        port,
        len(body),
    )
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    reply = b"".join(chunks)
    return int(reply.split(b" ", 2)[1]), reply


# --- attack spellings: each turns a depth (number of `..` steps) into a raw URL fragment -------------

Spelling = Callable[[int, Path], str]


def _enc_abs(root: Path) -> str:
    return quote(str(root / "outside" / "secret.txt"), safe="")


SPELLINGS: dict[str, Spelling] = {
    "dotdot": lambda n, _: "../" * n + "outside/secret.txt",
    "dotdot-only": lambda n, _: "/".join([".."] * n),
    "encoded-dots": lambda n, _: "%2e%2e/" * n + "outside/secret.txt",
    "encoded-dots-upper": lambda n, _: "%2E%2E%2F" * n + "outside%2Fsecret.txt",
    "encoded-slash": lambda n, _: "..%2f" * n + "outside%2fsecret.txt",
    "double-encoded": lambda n, _: "%252e%252e%252f" * n + "outside%252fsecret.txt",
    "double-encoded-slash": lambda n, _: "..%252f" * n + "outside%252fsecret.txt",
    "triple-encoded": lambda n, _: "%25252e%25252e%25252f" * n + "outside%25252fsecret.txt",
    "backslash": lambda n, _: "..\\" * n + "outside\\secret.txt",
    "backslash-wrapped": lambda n, _: "x\\..\\" + "..\\" * n + "outside\\secret.txt",
    "encoded-backslash": lambda n, _: "..%5c" * n + "outside%5csecret.txt",
    "query": lambda n, _: "x?/" + "../" * n + "outside/secret.txt",
    "encoded-query": lambda n, _: "x%3f/" + "../" * n + "outside/secret.txt",
    "fragment": lambda n, _: "../" * n + "outside/secret.txt#.png",
    "encoded-fragment": lambda n, _: "x%23/" + "../" * n + "outside/secret.txt",
    "params": lambda n, _: "x;/" + "../" * n + "outside/secret.txt",
    "dotdot-params": lambda n, _: "..;/" * n + "outside/secret.txt",
    "encoded-params": lambda n, _: "x%3b/" + "../" * n + "outside/secret.txt",
    "absolute": lambda _, root: str(root / "outside" / "secret.txt"),
    "encoded-absolute": lambda _, root: _enc_abs(root),
    "double-slash-host": lambda _, root: "//localhost" + str(root / "outside" / "secret.txt"),
    "proc-self-root": lambda _, root: "//proc/self/root" + str(root / "outside" / "secret.txt"),
    "encoded-proc-self-root": lambda _, root: "%2f%2fproc%2fself%2froot" + _enc_abs(root),
    "file-scheme": lambda _, root: "file://" + str(root / "outside" / "secret.txt"),
    "file-scheme-short": lambda _, root: "file:" + str(root / "outside" / "secret.txt"),
    "file-scheme-encoded": lambda _, root: "file%3a%2f%2f" + _enc_abs(root),
    "file-scheme-relative": lambda n, _: "file:" + "../" * n + "outside/secret.txt",
    "nul-suffix": lambda n, _: "../" * n + "outside/secret.txt%00.png",
    "nul-name": lambda _, __: "x%00y.txt",
    "fullwidth-dots": lambda n, _: "%EF%BC%8E%EF%BC%8E/" * n + "outside/secret.txt",
    "windows-drive": lambda _, __: "C:%5cWindows%5cwin.ini",
    "windows-drive-slash": lambda _, __: "c:/Windows/win.ini",
    "tilde": lambda _, __: "~/.ssh/id_rsa",
    "dot-then-dotdot": lambda n, _: "./" + "../" * n + "outside/secret.txt",
    "inside-then-out": lambda n, _: "inside.txt/" + "../" * (n + 1) + "outside/secret.txt",
}

RUN_PREFIXED_PROXY = "/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/{p}"
LEADING_ONLY = frozenset({"file-scheme-short", "tilde", "windows-drive-slash"})
"""Spellings that only mean something at the start of a key: after a folder prefix, `file:`, `c:` and
`~` are ordinary name characters and such a request stays inside that folder."""

PATH_ROUTES = [
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{p}", DEST_DEPTH),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/{p}", DEST_DEPTH),
    ("DELETE", "/api/2.0/mlflow-artifacts/artifacts/{p}", DEST_DEPTH),
    ("PUT", "/ajax-api/2.0/mlflow-artifacts/artifacts/{p}", DEST_DEPTH),
    ("GET", "/ajax-api/2.0/mlflow-artifacts/artifacts/{p}", DEST_DEPTH),
    ("PUT", RUN_PREFIXED_PROXY, RUN_DEPTH),
    ("PUT", "/api/v1/runs/{run}/artifacts/{p}", RUN_DEPTH),
    ("GET", "/api/v1/runs/{run}/artifacts/{p}", RUN_DEPTH),
    ("DELETE", "/api/v1/runs/{run}/artifacts/{p}", RUN_DEPTH),
]
QUERY_ROUTES = [
    ("GET", "/api/2.0/mlflow-artifacts/artifacts?path={p}", DEST_DEPTH),
    ("GET", "/ajax-api/2.0/mlflow-artifacts/artifacts?path={p}", DEST_DEPTH),
    ("GET", "/api/2.0/mlflow/artifacts/list?run_id={run}&path={p}", RUN_DEPTH),
    ("GET", "/ajax-api/2.0/mlflow/artifacts/list?run_id={run}&path={p}", RUN_DEPTH),
    ("GET", "/api/v1/runs/{run}/artifacts?path={p}", RUN_DEPTH),
]


def _attack(arena: Arena, method: str, target: bytes) -> list[str]:
    """Send one request and return what went wrong (empty when the server held)."""
    body = f"overwritten by {target!r}".encode() if method == "PUT" else b""
    status, reply = raw_request(arena.server.url, method, target, body)
    problems = []
    if status not in (400, 404):
        problems.append(f"{method} {target!r} -> {status}")
    if SECRET.encode() in reply:
        problems.append(f"{method} {target!r} leaked the sentinel")
    return problems


def _check_nothing_changed(arena: Arena, before: dict[str, str], problems: list[str]) -> None:
    after = _snapshot(arena)
    assert not problems, "\n".join(problems)
    assert after == before
    assert (arena.root / "outside" / "secret.txt").read_text() == SECRET


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_traversal_spelling_is_refused_everywhere(arena: Arena, name: str) -> None:
    before = _snapshot(arena)
    problems: list[str] = []
    for method, template, depth in PATH_ROUTES + QUERY_ROUTES:
        if name in LEADING_ONLY and template == RUN_PREFIXED_PROXY:
            continue
        payload = SPELLINGS[name](depth, arena.root)
        target = template.format(run=arena.run_id, p=payload)
        problems += _attack(arena, method, target.encode())
    _check_nothing_changed(arena, before, problems)


def test_raw_dotdot_reaches_the_route_unnormalised(arena: Arena) -> None:
    """The suite's requests arrive byte for byte: the refusal comes from the path check, not a client."""
    status, reply = raw_request(
        arena.server.url, "GET", b"/api/2.0/mlflow-artifacts/artifacts/../outside/secret.txt"
    )
    assert status == 400
    assert b"'..' components are not allowed" in reply


def test_raw_nul_and_control_bytes_are_refused(arena: Arena) -> None:
    before = _snapshot(arena)
    problems: list[str] = []
    for raw in (b"x\x00y.txt", b"..\x00/secret.txt", b"a\x7f/../../outside/secret.txt", b"a\x1b[2J"):
        for method in ("PUT", "GET", "DELETE"):
            problems += _attack(arena, method, b"/api/2.0/mlflow-artifacts/artifacts/" + raw)
            problems += _attack(arena, method, b"/api/v1/runs/%s/artifacts/" % arena.run_id.encode() + raw)
        problems += _attack(arena, "GET", b"/api/2.0/mlflow-artifacts/artifacts?path=" + raw)
    _check_nothing_changed(arena, before, problems)


@pytest.mark.parametrize(
    "run_id",
    [
        "..",
        "..%2f..%2foutside",
        "%2e%2e",
        "../../outside",
        "0%2f..%2f..",
        "%00",
        "a;b",
        "x%3f",
        "file:%2f%2f%2f",
    ],
)
def test_hostile_run_ids_are_refused(arena: Arena, run_id: str) -> None:
    before = _snapshot(arena)
    problems: list[str] = []
    for method in ("PUT", "GET", "DELETE"):
        problems += _attack(arena, method, f"/api/v1/runs/{run_id}/artifacts/x.txt".encode())
    for api in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        problems += _attack(arena, "GET", f"{api}/artifacts/list?run_id={run_id}".encode())
        problems += _attack(arena, "GET", f"{api}/artifacts/list?run_uuid={run_id}&path=x".encode())
    problems += _attack(arena, "GET", f"/api/v1/runs/{run_id}/artifacts".encode())
    _check_nothing_changed(arena, before, problems)


SYMLINK_PATHS = ["link_file", "link_dir/secret.txt", "link_dir/new.txt", "link_dir"]


def test_symlinks_planted_in_the_destination_are_not_followed_out(arena: Arena) -> None:
    before = _snapshot(arena)
    problems: list[str] = []
    run = arena.run_id
    for rel in SYMLINK_PATHS:
        for method in ("PUT", "GET", "DELETE"):
            problems += _attack(
                arena, method, f"/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/{rel}".encode()
            )
            problems += _attack(arena, method, f"/api/v1/runs/{run}/artifacts/{rel}".encode())
        problems += _attack(
            arena, "GET", f"/api/2.0/mlflow-artifacts/artifacts?path=0/{run}/artifacts/{rel}".encode()
        )
        problems += _attack(arena, "GET", f"/api/2.0/mlflow/artifacts/list?run_id={run}&path={rel}".encode())
        problems += _attack(arena, "GET", f"/api/v1/runs/{run}/artifacts?path={rel}".encode())
    for rel in ("escape/outside/secret.txt", "escape/secret.txt", "escape/new.txt", "escape"):
        for method in ("PUT", "GET", "DELETE"):
            problems += _attack(arena, method, f"/api/2.0/mlflow-artifacts/artifacts/{rel}".encode())
        problems += _attack(arena, "GET", f"/api/2.0/mlflow-artifacts/artifacts?path={rel}".encode())
    _check_nothing_changed(arena, before, problems)


def test_listings_hide_links_that_leave_the_destination(arena: Arena) -> None:
    status, reply = raw_request(arena.server.url, "GET", f"/api/v1/runs/{arena.run_id}/artifacts".encode())
    assert status == 200
    assert b"inside.txt" in reply
    assert b"link_dir" not in reply
    assert b"link_file" not in reply
    status, reply = raw_request(arena.server.url, "GET", b"/api/2.0/mlflow-artifacts/artifacts?path=")
    assert status == 200
    assert b"escape" not in reply


def test_a_raw_fragment_never_reaches_the_route(arena: Arena) -> None:
    """HTTP clients never send `#...`; the server's parser drops it, so it cannot smuggle a path in."""
    before = _snapshot(arena)
    status, _ = raw_request(
        arena.server.url, "GET", b"/api/2.0/mlflow-artifacts/artifacts/nothing#/../../outside/secret.txt"
    )
    assert status == 404
    assert _snapshot(arena) == before
