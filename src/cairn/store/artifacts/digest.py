"""Streaming copy that measures the size and SHA-256 of what it copies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from cairn.errors import InvalidArgument

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Digest:
    """Size in bytes and hex SHA-256 of a copied file."""

    size: int
    sha256: str


def copy_with_digest(source: BinaryIO, target: BinaryIO) -> Digest:
    """Copy `source` to `target` in 1 MiB chunks and return the size and SHA-256 of the bytes.

    Raises:
        InvalidArgument: if `source` yields text instead of bytes.
    """
    hasher = hashlib.sha256()
    size = 0
    while True:
        chunk = source.read(CHUNK_SIZE)
        if not chunk:
            break
        if not isinstance(chunk, bytes | bytearray):
            raise InvalidArgument(f"stream must be opened in binary mode, got {type(chunk).__name__} chunks")
        hasher.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return Digest(size=size, sha256=hasher.hexdigest())
