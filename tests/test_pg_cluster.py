"""Tests of the throwaway PostgreSQL cluster used by the PostgreSQL-backed test suites."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import psycopg
import pytest
import sqlalchemy as sa

from cairn.errors import InvalidArgument
from pg_cluster import ClusterError, PostgresCluster, find_run_account, pg_tools_available, reap_orphans

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not pg_tools_available(), reason="initdb/pg_ctl not on PATH"),
]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _database_names(cluster: PostgresCluster) -> set[str]:
    with psycopg.connect(
        host=str(cluster.socket_dir), port=cluster.port, user="cairn", dbname="postgres"
    ) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_cluster_serves_two_databases_and_stops(tmp_path: Path) -> None:
    with PostgresCluster(tmp_path) as cluster:
        pid = cluster.postmaster_pid
        assert pid is not None and not _gone(pid)
        url_a = cluster.create_database("alpha")
        url_b = cluster.create_database("beta")
        assert url_a == f"postgresql+psycopg://cairn@127.0.0.1:{cluster.port}/alpha"
        assert cluster.url.endswith(f":{cluster.port}/postgres")

        with psycopg.connect(host="127.0.0.1", port=cluster.port, user="cairn", dbname="alpha") as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (41), (1)")
        engine_a = sa.create_engine(url_a)
        engine_b = sa.create_engine(url_b)
        with engine_a.connect() as conn:
            assert conn.execute(sa.text("SELECT sum(x) FROM t")).scalar_one() == 42
            assert conn.execute(sa.text("SHOW server_encoding")).scalar_one() == "UTF8"
        with engine_b.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == "beta"
            assert conn.execute(sa.text("SELECT to_regclass('t')")).scalar_one() is None
            assert conn.execute(sa.text("SHOW server_version_num")).scalar_one().startswith("15")
        engine_a.dispose()

        held = engine_b.connect()  # a connection still open must not block the drop
        cluster.drop_database("beta")
        cluster.drop_database("alpha")
        cluster.drop_database("alpha")  # dropping a missing database is fine
        held.invalidate()
        engine_b.dispose()
        assert _database_names(cluster).isdisjoint({"alpha", "beta"})

    assert _gone(pid)
    assert cluster.postmaster_pid is None
    cluster.stop()  # idempotent


def test_bad_database_name_is_rejected_before_touching_the_server(tmp_path: Path) -> None:
    cluster = PostgresCluster(tmp_path)
    with pytest.raises(InvalidArgument, match="'Bad-Name'"):
        cluster.create_database("Bad-Name")
    with pytest.raises(InvalidArgument, match="'template1'"):
        cluster.drop_database("template1")


def test_failed_start_raises_with_the_server_log_and_leaves_nothing_running(tmp_path: Path) -> None:
    cluster = PostgresCluster(tmp_path, settings={"no_such_setting": "1"})
    with pytest.raises(ClusterError, match='unrecognized configuration parameter "no_such_setting"'):
        cluster.start()
    assert cluster.postmaster_pid is None
    with pytest.raises(ClusterError, match="not running"):
        _ = cluster.url
    cluster.stop()


_ORPHAN_SCRIPT = """
import sys
from pathlib import Path
from pg_cluster import PostgresCluster
cluster = PostgresCluster(Path(sys.argv[1]))
cluster.start()
print(cluster.workdir, cluster.postmaster_pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="orphans are reaped only from the system temp folder (root)")
def test_cluster_of_a_killed_run_is_reaped(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    ) as child:
        assert child.stdout is not None
        workdir_text, pid_text = child.stdout.readline().split()
        child.kill()  # SIGKILL: no atexit, no cleanup; the server outlives it
    assert child.returncode == -signal.SIGKILL
    workdir, pid = Path(workdir_text), int(pid_text)
    assert workdir.parent == Path(tempfile.gettempdir()) and not _gone(pid)

    reap_orphans(workdir.parent, find_run_account())

    assert _gone(pid)
    assert not workdir.exists()
