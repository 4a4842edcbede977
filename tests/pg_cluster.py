"""A throwaway PostgreSQL cluster (initdb + pg_ctl) for tests that need a real server."""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil
import psycopg
from psycopg import sql

from cairn.errors import InvalidArgument

SUPERUSER = "cairn"
"""Role created by initdb; every connection uses it (trust authentication, no password)."""

WORKDIR_PREFIX = "cairn-pg-"
"""Name prefix of every cluster's working folder; the orphan reaper only looks at these."""

RUN_ACCOUNTS = ("postgres", "nobody")
"""Unprivileged accounts to run the server as when the tests run as root, in order of preference."""

START_TIMEOUT_S = 60
_SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; leave room for "/.s.PGSQL.NNNNN"
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# Test-only speed settings: a throwaway cluster never needs crash safety, so fsync,
# synchronous_commit and full_page_writes are off. Never copy these to a real server.
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


class ClusterError(RuntimeError):
    """initdb, pg_ctl or the server failed; the message carries their output or the server log."""


@dataclass(frozen=True)
class RunAccount:
    """The unprivileged account the server runs as when the caller is root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


def find_run_account() -> RunAccount | None:
    """The account to run the server as: None when not root (run directly), else the first of RUN_ACCOUNTS.

    Raises:
        ClusterError: Running as root and none of RUN_ACCOUNTS exists.
    """
    if os.geteuid() != 0:
        return None
    for name in RUN_ACCOUNTS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        groups = tuple(os.getgrouplist(name, entry.pw_gid))
        return RunAccount(name=name, uid=entry.pw_uid, gid=entry.pw_gid, groups=groups)
    raise ClusterError(f"running as root and none of the accounts {RUN_ACCOUNTS} exists to run PostgreSQL")


def pg_tools_available() -> bool:
    """True when initdb and pg_ctl are on PATH (and, as root, an unprivileged account exists)."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        return False
    try:
        find_run_account()
    except ClusterError:
        return False
    return True


def _can_traverse(path: Path, account: RunAccount | None) -> bool:
    """Whether the account can reach into `path` (execute bit on it and on every parent)."""
    if account is None:
        return True
    for folder in (path, *path.parents):
        mode = os.stat(folder)
        if mode.st_uid == account.uid:
            bit = stat.S_IXUSR
        elif mode.st_gid in account.groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not mode.st_mode & bit:
            return False
    return True


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(args: list[str], account: RunAccount | None, cwd: Path, timeout: float) -> str:
    """Run a PostgreSQL tool (as `account` when given) and return its output; raise on failure."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(cwd), "TZ": "UTC"}
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            # As root: switch to the unprivileged account in the child, before exec (no su/PAM needed).
            user=None if account is None else account.uid,
            group=None if account is None else account.gid,
            extra_groups=None if account is None else list(account.groups),
        )
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"{args[0]} did not finish within {timeout}s: {' '.join(args)}") from exc
    output = f"{done.stdout}{done.stderr}".strip()
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(args)} exited with {done.returncode}:\n{output}")
    return output


def _process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie, nobody reaping it, counts as gone)."""
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False


def reap_orphans(tmp_root: Path, account: RunAccount | None) -> None:
    """Stop and delete clusters under `tmp_root` whose starting process has died (a killed test run)."""
    for workdir in tmp_root.glob(f"{WORKDIR_PREFIX}*"):
        try:
            owner = int((workdir / "owner.pid").read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue  # not ours, or still being set up
        if owner == os.getpid() or _process_alive(owner):
            continue
        data = workdir / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(ClusterError):
                _run(["pg_ctl", "stop", "-D", str(data), "-m", "immediate", "-w"], account, workdir, 30)
        shutil.rmtree(workdir, ignore_errors=True)


class PostgresCluster:
    """A private PostgreSQL server in a fresh folder, on a fresh port, stopped by `stop()` or `with`.

    As root the server runs as an unprivileged account (see RUN_ACCOUNTS); the working folder
    goes under `base_dir` when that account can reach it, else under the system temp folder
    (pytest's `tmp_path` sits in a root-only 0700 folder), and is then deleted by `stop()`.
    """

    def __init__(self, base_dir: Path, settings: Mapping[str, str] | None = None) -> None:
        """Prepare (not start) a cluster.

        Args:
            base_dir: Where to put the working folder if the run account can reach it.
            settings: Extra postgresql.conf lines, written verbatim (quote string values yourself).
        """
        self._base_dir = Path(base_dir)
        self._settings = dict(settings or {})
        self._account = find_run_account()
        self._workdir: Path | None = None
        self._owns_workdir = False
        self._port: int | None = None
        self._running = False

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on (127.0.0.1)."""
        if self._port is None or not self._running:
            raise ClusterError("the cluster is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default `postgres` database."""
        return self.url_for("postgres")

    @property
    def workdir(self) -> Path:
        """The folder holding data/, sock/ and server.log."""
        if self._workdir is None:
            raise ClusterError("the cluster has no folder yet; call start() first")
        return self._workdir

    @property
    def socket_dir(self) -> Path:
        """The Unix-socket folder (usable as psycopg's `host`)."""
        return self.workdir / "sock"

    @property
    def log_path(self) -> Path:
        """The server log file."""
        return self.workdir / "server.log"

    @property
    def postmaster_pid(self) -> int | None:
        """The server's process id, or None when it is not running."""
        if self._workdir is None:
            return None
        try:
            pid = int((self._workdir / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if _process_alive(pid) else None

    def url_for(self, name: str) -> str:
        """SQLAlchemy URL of database `name` over TCP."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        """Create the cluster (first call only) and start the server, waiting until it accepts connections.

        Raises:
            ClusterError: initdb or the server failed; the message includes their output and the log.
        """
        if self._running:
            raise ClusterError(f"the cluster in {self._workdir} is running already")
        if self._workdir is None:
            self._workdir = self._make_workdir()
            try:
                self._initdb()
            except BaseException:
                self._workdir = None  # the folder stays for inspection; a later start() begins afresh
                raise
        atexit.register(self.stop)
        try:
            self._start_server()
        except BaseException:
            atexit.unregister(self.stop)
            self._force_stop()
            self._discard_workdir()
            raise

    def stop(self) -> None:
        """Stop the server (fast mode: roll back open transactions) and wait until it is gone; idempotent."""
        atexit.unregister(self.stop)
        if self._running:
            self._running = False
            self._pg_ctl(
                ["stop", "-m", "fast", "-w", "-t", str(START_TIMEOUT_S)], timeout=START_TIMEOUT_S + 10
            )
        self._discard_workdir()

    def _discard_workdir(self) -> None:
        """Delete the working folder if it lives in the system temp folder (nobody else cleans it)."""
        if self._owns_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def create_database(self, name: str) -> str:
        """Create database `name` and return its SQLAlchemy URL.

        Raises:
            InvalidArgument: `name` is not a lower-case identifier.
        """
        self._admin_execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._checked(name))))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, closing any connections still open to it; a missing database is fine."""
        ident = sql.Identifier(self._checked(name))
        self._admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))

    def _checked(self, name: str) -> str:
        if not _DB_NAME.fullmatch(name) or name in ("postgres", "template0", "template1"):
            raise InvalidArgument(
                f"database name {name!r} must match [a-z_][a-z0-9_]* and not be a system db"
            )
        return name

    def _admin_execute(self, statement: sql.Composed) -> None:
        # CREATE/DROP DATABASE cannot run inside a transaction block, hence autocommit.
        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(statement)

    def _make_workdir(self) -> Path:
        """A fresh folder owned by the run account; under base_dir when reachable, else system temp."""
        parent = self._base_dir
        parent.mkdir(parents=True, exist_ok=True)
        fits = len(str(parent)) + len(WORKDIR_PREFIX) + 20 < _SOCKET_PATH_MAX
        if not (fits and _can_traverse(parent, self._account)):
            parent = Path(tempfile.gettempdir())
            self._owns_workdir = True
            reap_orphans(parent, self._account)
        workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=parent))
        (workdir / "owner.pid").write_text(str(os.getpid()), encoding="ascii")
        (workdir / "sock").mkdir(mode=0o700)
        if self._account is not None:
            for path in (workdir, workdir / "sock"):
                os.chown(path, self._account.uid, self._account.gid)
        return workdir

    def _initdb(self) -> None:
        data = self.workdir / "data"
        args = ["initdb", "-D", str(data), "-A", "trust", "-U", SUPERUSER, "--encoding=UTF8", "--no-locale"]
        _run([*args, "--no-sync"], self._account, self.workdir, timeout=120)
        settings = {**_SERVER_SETTINGS, "unix_socket_directories": f"'{self.socket_dir}'", **self._settings}
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\n# Added by tests/pg_cluster.py\n{lines}")

    def _start_server(self) -> None:
        """pg_ctl start on a fresh port; retry with another port if one was taken meanwhile."""
        for attempt in range(3):
            self._port = _free_port()
            try:
                self._pg_ctl(
                    [
                        "start",
                        "-w",
                        "-t",
                        str(START_TIMEOUT_S),
                        "-l",
                        str(self.log_path),
                        "-o",
                        f"-p {self._port}",
                    ],
                    timeout=START_TIMEOUT_S + 10,
                )
            except ClusterError as exc:
                log = self._read_log()
                if "Address already in use" in log and attempt < 2:
                    continue
                raise ClusterError(f"{exc}\n--- server log ---\n{log}") from exc
            self._running = True
            return

    def _force_stop(self) -> None:
        """Best-effort immediate stop after a failed start (the server may be half up)."""
        self._running = False
        if self._workdir is not None and (self._workdir / "data" / "postmaster.pid").exists():
            with contextlib.suppress(ClusterError):
                self._pg_ctl(["stop", "-m", "immediate", "-w"], timeout=30)

    def _pg_ctl(self, args: list[str], timeout: float) -> str:
        return _run(
            ["pg_ctl", args[0], "-D", str(self.workdir / "data"), *args[1:]],
            self._account,
            self.workdir,
            timeout,
        )

    def _read_log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no server log: {exc})"
