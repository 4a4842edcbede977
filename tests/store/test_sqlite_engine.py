"""The SQLite engine under many processes that open one fresh database at the same moment."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from sqlalchemy import text

from cairn.store.sql.engine import create_store_engine, write_transaction

_PROCESSES = 16
_ROUNDS = 15


def _open_and_write(root: str, worker: int, barrier: Any, errors: Any) -> None:
    for round_ in range(_ROUNDS):
        barrier.wait()
        engine = create_store_engine(f"sqlite:///{root}/{round_}/store.db")
        try:
            with write_transaction(engine) as conn:
                conn.execute(text("CREATE TABLE IF NOT EXISTS seen (worker INTEGER)"))
                conn.execute(text("INSERT INTO seen VALUES (:w)"), {"w": worker})
        except Exception as error:  # noqa: BLE001 - reported to the parent, which fails the test
            errors.put(f"round {round_}, worker {worker}: {error}")
        finally:
            engine.dispose()


def test_processes_opening_a_fresh_database_together_all_succeed(tmp_path: Path) -> None:
    for round_ in range(_ROUNDS):
        (tmp_path / str(round_)).mkdir()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(_PROCESSES)
    errors = context.Queue()
    workers = [
        context.Process(target=_open_and_write, args=(str(tmp_path), worker, barrier, errors))
        for worker in range(_PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join(timeout=300)
            assert worker.exitcode == 0
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
    reported = [errors.get() for _ in range(errors.qsize())]
    assert reported == []
    for round_ in range(_ROUNDS):
        engine = create_store_engine(f"sqlite:///{tmp_path}/{round_}/store.db")
        with engine.connect() as conn:
            seen = conn.execute(text("SELECT worker FROM seen ORDER BY worker")).scalars().all()
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        engine.dispose()
        assert seen == list(range(_PROCESSES))
        assert mode == "wal"
