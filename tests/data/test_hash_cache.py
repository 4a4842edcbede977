"""The local hash cache: a second pass over unchanged files hashes nothing, in a few batched queries."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cairn.data.hash_cache import HashCache, default_cache_path, digest_local_files, digest_source_files
from cairn.data.sources import SourceFile
from cairn.errors import NotFound

HOUR_NS = 3600 * 10**9


def _files(folder: Path, count: int, age_ns: int = HOUR_NS) -> list[Path]:
    """`count` small files with distinct content, last modified `age_ns` ago."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.time_ns() - age_ns
    paths = []
    for index in range(count):
        path = folder / f"part-{index:05d}.csv"
        path.write_text(f"x\n{index}\n")
        os.utime(path, ns=(stamp, stamp))
        paths.append(path)
    return paths


def test_second_pass_over_unchanged_files_hashes_nothing(tmp_path: Path) -> None:
    paths = _files(tmp_path / "d", 1_900)
    with HashCache(tmp_path / "cache.sqlite") as cache:
        first = digest_local_files(paths, cache)
        assert first.hashed_files == 1_900 and first.hashed_bytes == sum(p.stat().st_size for p in paths)
        assert first.digests[7] == hashlib.sha256(paths[7].read_bytes()).hexdigest()
        statements: list[str] = []
        cache._conn.set_trace_callback(statements.append)
        second = digest_local_files(paths, cache)
    assert (second.hashed_files, second.hashed_bytes) == (0, 0)
    assert second.digests == first.digests
    assert len([s for s in statements if s.startswith("SELECT")]) == 3  # 1,900 paths: 900 + 900 + 100
    assert not [s for s in statements if s.startswith("INSERT")]


def test_the_cache_survives_reopening_and_is_shared_by_path(tmp_path: Path) -> None:
    paths = _files(tmp_path / "d", 50)
    with HashCache(tmp_path / "cache.sqlite") as cache:
        digest_local_files(paths, cache)
    with HashCache(tmp_path / "cache.sqlite") as reopened:
        assert digest_local_files(paths, reopened).hashed_files == 0


def test_changed_files_are_hashed_again(tmp_path: Path) -> None:
    paths = _files(tmp_path / "d", 20)
    with HashCache(tmp_path / "cache.sqlite") as cache:
        before = digest_local_files(paths, cache).digests
        paths[3].write_text("x\n9\n")  # same size, new mtime and content
        stamp = time.time_ns() - HOUR_NS // 2
        os.utime(paths[3], ns=(stamp, stamp))
        paths[5].unlink()
        paths[5].write_text("x\n5\n")  # same content and size, new inode and mtime
        os.utime(paths[5], ns=(stamp, stamp))
        after = digest_local_files(paths, cache)
    assert after.hashed_files == 2
    assert after.digests[3] != before[3] and after.digests[5] == before[5]
    assert [d for i, d in enumerate(after.digests) if i != 3] == [d for i, d in enumerate(before) if i != 3]


def test_files_modified_at_hashing_time_are_not_cached(tmp_path: Path) -> None:
    (racy,) = _files(tmp_path / "d", 1, age_ns=-10 * 10**9)  # mtime ahead of the clock
    with HashCache(tmp_path / "cache.sqlite") as cache:
        digest_local_files([racy], cache)
        assert digest_local_files([racy], cache).hashed_files == 1


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with HashCache(tmp_path / "cache.sqlite") as cache, pytest.raises(NotFound, match="gone.csv"):
        digest_local_files([tmp_path / "gone.csv"], cache)


def test_cache_location_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_HASH_CACHE", str(tmp_path / "h.sqlite"))
    assert default_cache_path() == tmp_path / "h.sqlite"
    monkeypatch.setenv("CAIRN_HASH_CACHE", str(tmp_path))
    assert default_cache_path() == tmp_path / "hashes.sqlite"
    monkeypatch.delenv("CAIRN_HASH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "cairn" / "hashes.sqlite"


def test_digest_source_files_mixes_local_and_uri_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fsspec

    monkeypatch.setenv("CAIRN_HASH_CACHE", str(tmp_path / "env-cache.sqlite"))
    (local,) = _files(tmp_path / "d", 1)
    fsspec.filesystem("memory").pipe("/cairn-hash-test/r.csv", b"x\n1\n")
    try:
        files = [
            SourceFile("memory:///cairn-hash-test/r.csv", "r.csv", 4, "csv"),
            SourceFile(str(local), local.name, local.stat().st_size, "csv"),
        ]
        digests = digest_source_files(files)
    finally:
        fsspec.filesystem("memory").rm("/cairn-hash-test", recursive=True)
    assert digests == [hashlib.sha256(b"x\n1\n").hexdigest(), hashlib.sha256(local.read_bytes()).hexdigest()]
    assert (tmp_path / "env-cache.sqlite").is_file()
    with HashCache() as cache:
        assert digest_local_files([local], cache).hashed_files == 0


_WORKER = """
import sys
from pathlib import Path
from cairn.data.hash_cache import HashCache, digest_local_files
paths = sorted(Path(sys.argv[2]).iterdir())
with HashCache(sys.argv[1]) as cache:
    print(digest_local_files(paths, cache).digests[0])
"""


def test_two_processes_share_one_cache(tmp_path: Path) -> None:
    _files(tmp_path / "d", 400)
    args = [sys.executable, "-c", _WORKER, str(tmp_path / "cache.sqlite"), str(tmp_path / "d")]
    workers = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=60)[0].strip() for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert outputs[0] == outputs[1] == hashlib.sha256(b"x\n0\n").hexdigest()
    with HashCache(tmp_path / "cache.sqlite") as cache:
        assert digest_local_files(sorted((tmp_path / "d").iterdir()), cache).hashed_files == 0
