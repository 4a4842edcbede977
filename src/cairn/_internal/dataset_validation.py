"""Validation of dataset names, digests, counts and JSON fields, before any dataset write or read."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from cairn._internal.registry_validation import (
    MAX_DESCRIPTION_LENGTH,
    validate_actor,
    validate_registry_tag,
    validate_resource_name,
    validate_text,
)
from cairn.errors import InvalidArgument

MAX_DATASET_NAME_LENGTH = 256
MAX_SCHEMA_CHARS = 1024 * 1024
MAX_PROFILE_CHARS = 16 * 1024 * 1024
MAX_PII_CHARS = 4 * 1024 * 1024
MAX_REPORT_CHARS = 16 * 1024 * 1024
MAX_ERASURE_CHARS = 1024 * 1024
MAX_SOURCE_LENGTH = 65_535
MAX_SOURCE_TYPE_LENGTH = 64
MAX_COUNT = 2**63 - 1
MAX_DATASET_TAGS = 1000

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^[0-9a-f]{1,64}$")


def validate_dataset_name(name: object, field: str = "dataset name") -> str:
    """Check a dataset name: 1-256 characters, not blank, no `/` or control characters, not `.` or `..`.

    Raises:
        InvalidArgument: naming `field` and the offending name.
    """
    return validate_resource_name(name, field, "dataset", MAX_DATASET_NAME_LENGTH, ("/",))


def validate_digest(digest: object, field: str = "digest") -> str:
    """Check a SHA-256 digest: 64 lower-case hex digits."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidArgument(f"{field} {str(digest)[:80]!r} must be 64 lower-case hex digits (SHA-256)")
    return digest


def validate_digest_prefix(prefix: object) -> str:
    """Check the start of a digest as run inputs record it: 1-64 lower-case hex digits."""
    if not isinstance(prefix, str) or not _HEX.match(prefix):
        raise InvalidArgument(f"digest_prefix {str(prefix)[:80]!r} must be 1-64 lower-case hex digits")
    return prefix


def validate_count(field: str, value: object) -> int:
    """Check a row count, file count or size: a non-negative integer in the 64-bit range."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise InvalidArgument(f"{field} must be a non-negative integer, got {value!r}")
    return value


def json_text(field: str, value: object, limit: int) -> str:
    """A JSON object as compact text (key order kept), within `limit` characters.

    Raises:
        InvalidArgument: naming `field` when the value is not a JSON object of finite numbers, or too big.
    """
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{field} must be a JSON object (a dict), got {type(value).__name__}")
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"{field} is not JSON without NaN or infinities: {error}") from None
    if len(text) > limit:
        raise InvalidArgument(f"{field} is {len(text)} characters as JSON; the limit is {limit}")
    return text


def optional_json_text(field: str, value: object, limit: int) -> str | None:
    """`json_text` for a field that may be None."""
    return None if value is None else json_text(field, value, limit)


def tags_text(tags: object) -> str:
    """Dataset version tags, checked like registry tags, as JSON text."""
    if not isinstance(tags, Mapping):
        raise InvalidArgument(f"tags must be a dict of strings, got {type(tags).__name__}")
    if len(tags) > MAX_DATASET_TAGS:
        raise InvalidArgument(f"tags: at most {MAX_DATASET_TAGS} tags per version; got {len(tags)}")
    checked = dict(validate_registry_tag("dataset version tag", key, value) for key, value in tags.items())
    return json.dumps(checked, separators=(",", ":"), ensure_ascii=False)


def description_text(description: object) -> str:
    """A version's description: a string within the registry's description limit."""
    return validate_text("description", description, MAX_DESCRIPTION_LENGTH)


def validate_created_by(created_by: object) -> str:
    """The user a version is recorded for: a string of at most 256 characters without control characters."""
    try:
        return validate_actor(created_by)
    except InvalidArgument as error:
        raise InvalidArgument(error.message.replace("actor", "created_by", 1)) from None


def required_text(field: str, value: object, limit: int) -> str:
    """Check a non-empty string field within `limit` characters."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidArgument(f"{field} must not be empty")
    return validate_text(field, value, limit)
