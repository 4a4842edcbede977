"""Bookkeeping of the content-addressed blobs that hold dataset files: batched existence checks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, select

from cairn._internal.clock import now_ms
from cairn._internal.dataset_validation import validate_count, validate_digest
from cairn.errors import InvalidArgument
from cairn.store.sql.base import SqlBase
from cairn.store.sql.dataset_tables import dataset_blobs
from cairn.store.sql.upsert import insert_for

IN_CHUNK = 900  # digests per IN list, under SQLite's bound-parameter limit on old builds
DATASETS_FOLDER = "datasets"


def checked_digests(digests: Sequence[str]) -> list[str]:
    """The digests, each checked (64 lower-case hex digits), without repeats, in their first order."""
    if isinstance(digests, str) or not isinstance(digests, Sequence):
        raise InvalidArgument("digests must be a list of SHA-256 digests, not a single string")
    return list(dict.fromkeys(validate_digest(d, f"digests[{i}]") for i, d in enumerate(digests)))


def checked_blobs(blobs: Sequence[tuple[str, int]]) -> dict[str, int]:
    """(digest, size) pairs checked and keyed by digest (the first size given wins)."""
    if isinstance(blobs, str) or not isinstance(blobs, Sequence):
        raise InvalidArgument("blobs must be a list of (digest, size) pairs")
    checked: dict[str, int] = {}
    for index, pair in enumerate(blobs):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise InvalidArgument(f"blobs[{index}] must be a (digest, size) pair, got {pair!r}")
        digest = validate_digest(pair[0], f"blobs[{index}] digest")
        checked.setdefault(digest, validate_count(f"blobs[{index}] size", pair[1]))
    return checked


class SqlDatasetBlobs(SqlBase):
    """Which dataset blobs are stored: one query per chunk of digests, never one per file."""

    def missing_dataset_blobs(self, digests: Sequence[str]) -> set[str]:
        """The digests among these that are not recorded as stored."""
        wanted = checked_digests(digests)

        def work(conn: Connection) -> set[str]:
            missing: set[str] = set()
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                found = set(
                    conn.execute(
                        select(dataset_blobs.c.digest).where(dataset_blobs.c.digest.in_(chunk))
                    ).scalars()
                )
                missing.update(d for d in chunk if d not in found)
            return missing

        return self._read(work) if wanted else set()

    def record_dataset_blobs(self, blobs: Sequence[tuple[str, int]]) -> None:
        """Record (digest, size) pairs as stored, in one transaction; recording one again changes nothing."""
        checked = checked_blobs(blobs)
        if not checked:
            return

        def work(conn: Connection) -> None:
            now = now_ms()
            rows = [{"digest": d, "size": size, "creation_time": now} for d, size in checked.items()]
            stmt = insert_for(conn, dataset_blobs).on_conflict_do_nothing(index_elements=["digest"])
            for start in range(0, len(rows), IN_CHUNK):
                conn.execute(stmt, rows[start : start + IN_CHUNK])

        self._write(work)

    def forget_dataset_blobs(self, digests: Sequence[str]) -> None:
        """Drop these digests from the record, in one transaction; unknown ones are ignored."""
        wanted = checked_digests(digests)
        if not wanted:
            return

        def work(conn: Connection) -> None:
            for start in range(0, len(wanted), IN_CHUNK):
                conn.execute(
                    delete(dataset_blobs).where(dataset_blobs.c.digest.in_(wanted[start : start + IN_CHUNK]))
                )

        self._write(work)

    def dataset_artifact_root(self) -> str:
        """`<artifact root>/datasets`: the artifact URI under which dataset blobs are stored."""
        return f"{self._artifact_root}/{DATASETS_FOLDER}"
