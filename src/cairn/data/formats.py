"""Which tabular file formats Cairn reads, told apart by file name, and which files a folder listing skips."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO

from cairn.errors import InvalidArgument

CSV = "csv"
PARQUET = "parquet"
JSONL = "jsonl"

SUFFIXES: dict[str, str] = {
    ".csv": CSV,
    ".csv.gz": CSV,
    ".parquet": PARQUET,
    ".pq": PARQUET,
    ".jsonl": JSONL,
    ".jsonl.gz": JSONL,
    ".ndjson": JSONL,
    ".ndjson.gz": JSONL,
    ".json": JSONL,
}
"""File-name endings and the format they mean; `.json` counts only when the file holds JSON lines."""

SUPPORTED = "CSV (.csv, .csv.gz), Parquet (.parquet, .pq), JSON lines (.jsonl, .ndjson, .json)"

JSON_PEEK_BYTES = 1024 * 1024


def is_skipped(name: str) -> bool:
    """True for hidden files and folders and for markers such as `_SUCCESS` or `_metadata`."""
    return name.startswith((".", "_"))


def format_of(name: str) -> str:
    """The format a file name means (`csv`, `parquet` or `jsonl`).

    Raises:
        InvalidArgument: naming the file and the supported formats, for any other ending.
    """
    lowered = name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            return SUFFIXES[suffix]
    raise InvalidArgument(f"file {name!r} has an unknown format; supported: {SUPPORTED}")


def check_json_lines(name: str, open_file: Callable[[], IO[bytes]]) -> None:
    """Check that a `.json` file holds JSON lines: its first non-blank line is one whole JSON object.

    Raises:
        InvalidArgument: naming the file, for a JSON document that is not one object per line.
    """
    with open_file() as stream:
        head = stream.read(JSON_PEEK_BYTES)
    for line in head.splitlines():
        if not line.strip():
            continue
        try:
            first = json.loads(line)
        except ValueError:
            first = None
        if isinstance(first, dict):
            return
        break
    raise InvalidArgument(
        f"file {name!r} is not JSON lines (one JSON object per line); Cairn reads {SUPPORTED}"
    )
