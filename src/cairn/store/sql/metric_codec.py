"""Packing metric columns into little-endian blobs and back."""

from __future__ import annotations

import sys
from array import array

_SWAP = sys.byteorder != "little"


def pack_ints(values: array[int]) -> bytes:
    """Pack signed 64-bit integers as little-endian bytes."""
    if _SWAP:
        values = array("q", values)
        values.byteswap()
    return values.tobytes()


def pack_floats(values: array[float]) -> bytes:
    """Pack doubles as little-endian bytes (NaN and infinities kept bit for bit)."""
    if _SWAP:
        values = array("d", values)
        values.byteswap()
    return values.tobytes()


def unpack_ints(blobs: list[bytes]) -> array[int]:
    """Concatenate blobs of packed 64-bit integers into one array."""
    out = array("q")
    for blob in blobs:
        out.frombytes(blob)
    if _SWAP:
        out.byteswap()
    return out


def unpack_floats(blobs: list[bytes]) -> array[float]:
    """Concatenate blobs of packed doubles into one array."""
    out = array("d")
    for blob in blobs:
        out.frombytes(blob)
    if _SWAP:
        out.byteswap()
    return out
