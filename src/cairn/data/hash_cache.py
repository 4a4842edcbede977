"""A local SQLite cache of file digests, so unchanged files are not hashed twice; batched file hashing."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.data.digests import file_digest, stream_digest
from cairn.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from cairn.data.sources import SourceFile

CACHE_ENV = "CAIRN_HASH_CACHE"
CACHE_FILE = "hashes.sqlite"
BATCH = 900  # paths per query: under SQLite's bound-parameter limit on old builds
HASH_WORKERS = 4
RACY_WINDOW_NS = 50_000_000
"""A file modified this close to (or after) the moment it was hashed may change again within the same
mtime tick, unnoticed: its digest is not cached (git calls such entries "racily clean")."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_digests (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    digest TEXT NOT NULL
)
"""


def default_cache_path() -> Path:
    """`$CAIRN_HASH_CACHE` (a file, or a folder for `hashes.sqlite`), else ~/.cache/cairn/hashes.sqlite."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        path = Path(configured).expanduser()
        return path / CACHE_FILE if path.is_dir() else path
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cairn" / CACHE_FILE


@dataclass(frozen=True)
class FileStat:
    """What identifies one version of a local file: absolute path, size, modification time and inode."""

    path: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str | Path) -> FileStat:
        """Stat a file; `NotFound` naming it if it is gone."""
        absolute = os.path.abspath(path)
        try:
            stat = os.stat(absolute)
        except FileNotFoundError:
            raise NotFound(f"file {str(path)!r} does not exist") from None
        return cls(absolute, stat.st_size, stat.st_mtime_ns, stat.st_ino)


class HashCache:
    """File digests keyed by (absolute path, size, mtime_ns, inode), in a SQLite file.

    Lookups and writes go in batches of 900 paths, one query or one transaction each. The database runs
    in WAL mode with a busy timeout, so two processes can share it.

    Args:
        path: The SQLite file; default `default_cache_path()`.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout = 30000")
        # Switching a new file to WAL needs an exclusive lock that SQLite does not wait for: two processes
        # opening the cache at once would see "database is locked". An OS lock serialises the set-up.
        with self.path.with_name(self.path.name + ".lock").open("a") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute(_SCHEMA)
            finally:
                fcntl.flock(guard, fcntl.LOCK_UN)
        self._conn.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, stats: Sequence[FileStat]) -> dict[str, str]:
        """Cached digests of the files whose size, mtime and inode still match, by absolute path."""
        found: dict[str, str] = {}
        for start in range(0, len(stats), BATCH):
            chunk = {s.path: s for s in stats[start : start + BATCH]}
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT path, size, mtime_ns, inode, digest FROM file_digests WHERE path IN ({marks})",  # noqa: S608
                list(chunk),
            )
            for path, size, mtime_ns, inode, digest in rows:
                if (size, mtime_ns, inode) == (chunk[path].size, chunk[path].mtime_ns, chunk[path].inode):
                    found[path] = digest
        return found

    def store(self, entries: Sequence[tuple[FileStat, str]]) -> None:
        """Remember digests, one transaction per 900 files."""
        for start in range(0, len(entries), BATCH):
            rows = [(s.path, s.size, s.mtime_ns, s.inode, d) for s, d in entries[start : start + BATCH]]
            with self._transaction():
                self._conn.executemany("INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?, ?, ?)", rows)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


@dataclass(frozen=True)
class DigestOutcome:
    """The digests of a list of files, and how much work the cache saved.

    Attributes:
        digests: One hex SHA-256 per file, in the order the files were given.
        hashed_files: Files that were read and hashed (not found in the cache).
        hashed_bytes: Bytes read to hash them.
    """

    digests: list[str]
    hashed_files: int
    hashed_bytes: int


def digest_local_files(paths: Sequence[str | Path], cache: HashCache | None = None) -> DigestOutcome:
    """Digest local files, reading only those the cache does not know (in a few threads).

    Raises:
        NotFound: naming a file that does not exist.
        InvalidArgument: naming a file that changed while it was being hashed.
    """
    stats = [FileStat.of(p) for p in paths]
    known = cache.lookup(stats) if cache is not None else {}
    todo = list({s.path: s for s in stats if s.path not in known}.values())
    with ThreadPoolExecutor(max_workers=HASH_WORKERS) as pool:
        fresh = list(pool.map(_hash_unchanged, todo))
    if cache is not None:
        cache.store([(stat, digest) for stat, (digest, keep) in zip(todo, fresh, strict=True) if keep])
    computed = {stat.path: digest for stat, (digest, _) in zip(todo, fresh, strict=True)}
    digests = [known.get(s.path) or computed[s.path] for s in stats]
    return DigestOutcome(digests, len(todo), sum(s.size for s in todo))


def _hash_unchanged(before: FileStat) -> tuple[str, bool]:
    """(digest, whether it may be cached); the file must look the same after hashing as before."""
    started = time.time_ns()
    digest = file_digest(before.path)
    after = FileStat.of(before.path)
    if after != before:
        raise InvalidArgument(f"file {before.path!r} changed while it was being hashed; log it again")
    return digest, before.mtime_ns < started - RACY_WINDOW_NS


def digest_source_files(files: Sequence[SourceFile], cache: HashCache | None = None) -> list[str]:
    """The digest of each source file, in order: local files through the hash cache, URIs streamed.

    Args:
        files: The files; local ones are looked up in (and added to) the cache.
        cache: The cache to use; default a `HashCache()` at its default location.
    """
    local = [f for f in files if f.is_local]
    by_location: dict[str, str] = {}
    if local:
        owned = cache is None
        active = cache or HashCache()
        try:
            outcome = digest_local_files([f.location for f in local], active)
        finally:
            if owned:
                active.close()
        by_location.update(zip((f.location for f in local), outcome.digests, strict=True))
    remote = [f for f in files if not f.is_local]
    with ThreadPoolExecutor(max_workers=HASH_WORKERS) as pool:
        by_location.update(zip((f.location for f in remote), pool.map(uri_digest, remote), strict=True))
    return [by_location[f.location] for f in files]


def uri_digest(file: SourceFile) -> str:
    """The digest of a remote file, streamed through fsspec (remote files are not cached)."""
    import fsspec

    try:
        with fsspec.open(file.location, "rb") as stream:
            return stream_digest(stream)[0]
    except FileNotFoundError:
        raise NotFound(f"file {file.location!r} does not exist") from None
