"""Opaque, offset-based page tokens (base64 of a small JSON object)."""

from __future__ import annotations

import base64
import binascii
import json

from cairn.errors import InvalidArgument


def encode_page_token(offset: int) -> str:
    """Encode the offset of the next page as an opaque token."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """Return the offset a token encodes (0 for None or ""); `InvalidArgument` for a malformed token."""
    if not token:
        return 0
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidArgument(f"page_token {token[:40]!r} is malformed") from None
    offset = payload.get("offset") if isinstance(payload, dict) else None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidArgument(f"page_token {token[:40]!r} is malformed")
    return offset
