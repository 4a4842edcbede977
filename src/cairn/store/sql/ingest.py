"""Idempotent bulk ingestion: a batch of metric columns applied once per client-chosen batch id."""

from __future__ import annotations

from sqlalchemy import Connection, delete

from cairn._internal.clock import now_ms
from cairn._internal.validation import validate_key, validate_run_id
from cairn.errors import InvalidArgument
from cairn.store.sql.base import SqlBase
from cairn.store.sql.metrics import MetricColumns, append_columns
from cairn.store.sql.tables import ingest_batches
from cairn.store.sql.upsert import insert_for

# Applied batch ids are kept this long: far beyond any client's retry window, and then pruned.
BATCH_ID_RETENTION_MS = 7 * 24 * 3600 * 1000
_PRUNE_EVERY = 1000
_MAX_BATCH_ID_LENGTH = 64


class SqlIngest(SqlBase):
    """Apply metric batches exactly once, however often a client retries them."""

    _batches_since_prune = 0

    def ingest_metric_batch(self, batch_id: str, columns: MetricColumns) -> bool:
        """Append the points and record `batch_id` in one transaction; a known id changes nothing.

        Returns:
            True if the batch was applied now, False if a batch with this id was applied before.

        Raises:
            InvalidArgument: for a malformed batch id, run id or metric key, or columns of unequal lengths.
            NotFound: for an unknown run (nothing of the batch is stored, and the id is not recorded).
        """
        if not isinstance(batch_id, str) or not 0 < len(batch_id) <= _MAX_BATCH_ID_LENGTH:
            raise InvalidArgument(f"batch_id {str(batch_id)[:80]!r} must be 1-64 characters")
        for (run_id, key), (steps, timestamps, values) in columns.items():
            validate_run_id(run_id)
            validate_key("metric key", key)
            if not len(steps) == len(timestamps) == len(values):
                raise InvalidArgument(f"metric {key!r}: steps, timestamps and values differ in length")
        applied = self._write(lambda conn: _apply_once(conn, batch_id, columns))
        if applied:
            self._maybe_prune_batch_ids()
        return applied

    def prune_ingest_batches(self, older_than_ms: int) -> int:
        """Forget applied batch ids recorded more than `older_than_ms` ago; return how many."""
        cutoff = now_ms() - older_than_ms
        return self._write(
            lambda conn: (
                conn.execute(delete(ingest_batches).where(ingest_batches.c.applied_time < cutoff)).rowcount
            )
        )

    def _maybe_prune_batch_ids(self) -> None:
        self._batches_since_prune += 1
        if self._batches_since_prune >= _PRUNE_EVERY:
            self._batches_since_prune = 0
            self.prune_ingest_batches(BATCH_ID_RETENTION_MS)


def _apply_once(conn: Connection, batch_id: str, columns: MetricColumns) -> bool:
    # Claim the id first: a concurrent transaction with the same id waits on the primary key (PostgreSQL)
    # or on the write lock (SQLite), then sees it taken; if that one rolls back, this one applies instead.
    stmt = insert_for(conn, ingest_batches).on_conflict_do_nothing(index_elements=["batch_id"])
    claimed = conn.execute(stmt, {"batch_id": batch_id, "applied_time": now_ms()}).rowcount
    if not claimed:
        return False
    append_columns(conn, columns)
    return True
