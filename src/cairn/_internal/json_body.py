"""Parsing JSON request bodies: orjson for speed, the standard parser for what orjson reads differently."""

from __future__ import annotations

import json
from typing import Any

import orjson

# Digits -> "0", the decimal point -> ".", every other byte -> " ": integer tokens become " 000..."
_DIGIT_CLASSES = bytes(
    ord("0") if chr(byte) in "0123456789" else byte if chr(byte) == "." else ord(" ") for byte in range(256)
)
_LONG_DIGIT_RUN = b" " + b"0" * 19


def loads_json(body: bytes) -> Any:
    """A JSON document as Python values.

    orjson parses it (several times faster) unless the body needs the standard parser, which reads what
    orjson refuses (bare NaN and Infinity, which Python clients send; UTF-16 and UTF-32 bodies) and keeps
    integers past 64 bits exact where orjson turns them into floats. A run of 19 or more digits that does
    not follow a decimal point (a fraction's digits do) sends the body there.

    Raises:
        ValueError: the body is not JSON (the parser's message), or nests too deeply.
    """
    if not body[:19].isdigit() and _LONG_DIGIT_RUN not in body.translate(_DIGIT_CLASSES):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(body)
    except RecursionError as error:
        raise ValueError(f"nesting too deep: {error}") from None
