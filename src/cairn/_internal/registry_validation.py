"""Validation of registry names, aliases, version numbers, logged-model ids and free-text fields."""

from __future__ import annotations

import re

from cairn._internal.validation import validate_key, validate_string_value
from cairn.errors import InvalidArgument

MAX_MODEL_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_ACTOR_LENGTH = 256
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_DESCRIPTION_LENGTH = 100_000
MAX_STATUS_MESSAGE_LENGTH = 10_000
MAX_RUN_LINK_LENGTH = 10_000
MAX_LOGGED_MODEL_NAME_LENGTH = 500
MAX_MODEL_TYPE_LENGTH = 500
MAX_LOGGED_MODEL_PARAM_VALUE_LENGTH = 6000
MAX_RESULTS_SEARCH_REGISTERED_MODELS = 1000
MAX_RESULTS_SEARCH_MODEL_VERSIONS = 200_000
MAX_RESULTS_SEARCH_LOGGED_MODELS = 1000
MAX_RESULTS_REGISTRY_CHANGES = 10_000
MAX_VERSION_NUMBER = 2**31 - 1

_ALIAS_CHARS = re.compile(r"^[A-Za-z0-9_\-]+$")
_VERSION_ALIAS = re.compile(r"^[vV][0-9]+$")
_LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
_NAME_FORBIDDEN = ("/", ":", "@")


def _has_control_characters(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def validate_model_name(name: object, field: str = "name") -> str:
    """Check a registered model name: 1-256 characters, no `/`, `:` or `@`, not `.` or `..`.

    Those characters would make `models:/<name>/<version>` and `models:/<name>@<alias>` ambiguous.

    Raises:
        InvalidArgument: naming `field` and the offending name.
    """
    return validate_resource_name(name, field, "model", MAX_MODEL_NAME_LENGTH, _NAME_FORBIDDEN)


def validate_resource_name(
    name: object, field: str, kind: str, limit: int, forbidden: tuple[str, ...]
) -> str:
    """Check a name used in URIs and paths (models, datasets).

    It must be a non-blank string of at most `limit` characters, without `forbidden` characters or control
    characters, and not `.` or `..`.

    Raises:
        InvalidArgument: naming `field` and the offending name.
    """
    if not isinstance(name, str):
        raise InvalidArgument(f"{field} must be a string, got {type(name).__name__}")
    if not name.strip():
        raise InvalidArgument(f"{field} must not be empty")
    if len(name) > limit:
        raise InvalidArgument(f"{field} {name[:40]!r}... is {len(name)} characters; the limit is {limit}")
    if any(char in name for char in forbidden) or _has_control_characters(name):
        listed = ", ".join(repr(char) for char in forbidden)
        raise InvalidArgument(f"{field} {name!r} must not contain {listed} or control characters")
    if name.strip() in (".", ".."):
        raise InvalidArgument(f"{field} {name!r} is not a usable {kind} name")
    return name


def validate_alias(alias: object) -> str:
    """Check an alias name: 1-255 letters, digits, `_` or `-`; `latest` and `v<digits>` are reserved.

    Raises:
        InvalidArgument: naming the alias and what is wrong with it.
    """
    if not isinstance(alias, str):
        raise InvalidArgument(f"alias must be a string, got {type(alias).__name__}")
    if not alias:
        raise InvalidArgument("alias must not be empty")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidArgument(
            f"alias {alias[:40]!r}... is {len(alias)} characters; the limit is {MAX_ALIAS_LENGTH}"
        )
    if not _ALIAS_CHARS.match(alias):
        raise InvalidArgument(f"alias {alias!r} may only hold letters, digits, '_' and '-'")
    if alias.lower() == "latest":
        raise InvalidArgument(f"alias {alias!r} is reserved: 'latest' (in any case) means the newest version")
    if _VERSION_ALIAS.match(alias):
        raise InvalidArgument(f"alias {alias!r} is reserved: 'v<number>' names a version")
    return alias


def validate_version(version: object, field: str = "version") -> int:
    """Return a model version number (an int or a decimal string) as a positive int.

    Raises:
        InvalidArgument: naming `field` when the value is not a positive integer.
    """
    number: int | None = None
    if isinstance(version, int) and not isinstance(version, bool):
        number = version
    elif isinstance(version, str) and version.isascii() and version.isdigit() and len(version) <= 10:
        number = int(version)
    if number is None or not 1 <= number <= MAX_VERSION_NUMBER:
        raise InvalidArgument(f"{field} must be a positive integer, got {version!r}")
    return number


def validate_logged_model_id(model_id: object, field: str = "model_id") -> str:
    """Check a logged model id: `m-` followed by 32 lower-case hex digits."""
    if not isinstance(model_id, str) or not _LOGGED_MODEL_ID.match(model_id):
        raise InvalidArgument(f"{field} {model_id!r} is not a logged model id (m- and 32 hex digits)")
    return model_id


def validate_actor(actor: object) -> str:
    """Check the user a change is recorded for: a string of at most 256 characters (may be empty)."""
    if not isinstance(actor, str):
        raise InvalidArgument(f"actor must be a string, got {type(actor).__name__}")
    if _has_control_characters(actor):
        raise InvalidArgument(f"actor {actor[:40]!r} must not contain control characters")
    return validate_string_value("actor", actor, MAX_ACTOR_LENGTH)


def validate_text(field: str, value: object, limit: int) -> str:
    """Check a free-text field (description, status message, ...): a string within `limit` characters."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string, got {type(value).__name__}")
    return validate_string_value(field, value, limit)


def validate_registry_tag(field: str, key: object, value: object) -> tuple[str, str]:
    """Check a registered-model, model-version or logged-model tag; returns (key, value)."""
    checked_key = validate_key(f"{field} key", key)
    checked_value = validate_text(f"{field} {checked_key!r} value", value, MAX_REGISTRY_TAG_VALUE_LENGTH)
    return checked_key, checked_value


def validate_logged_model_name(name: object) -> str:
    """Check a logged model's name: non-empty, at most 500 characters, no control characters."""
    if not isinstance(name, str):
        raise InvalidArgument(f"logged model name must be a string, got {type(name).__name__}")
    if not name.strip():
        raise InvalidArgument("logged model name must not be empty")
    if _has_control_characters(name):
        raise InvalidArgument(f"logged model name {name[:40]!r} must not contain control characters")
    return validate_string_value("logged model name", name, MAX_LOGGED_MODEL_NAME_LENGTH)
