"""Reading MLflow-style requests: query strings for GET, JSON bodies otherwise, checked against a field spec.

Each endpoint declares its fields (`string`, `integer`, `messages`, ...). Parsing follows the MLflow
server's rules: snake_case names, camelCase accepted too (but not both spellings at once), repeated query
keys for lists, booleans as true/false in any case, int64 as numbers or digit strings, doubles as numbers or
the protobuf JSON strings "NaN", "Infinity" and "-Infinity". Unknown fields are ignored, as protobuf does.
Every problem is an `InvalidArgument` (400 INVALID_PARAMETER_VALUE) naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import QueryParams

from cairn._internal.json_body import loads_json
from cairn.errors import InvalidArgument
from cairn.server.services import Services, get_services

Args = dict[str, Any]
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_DIGITS = re.compile(r"^[+-]?\d+$")
_SHOWN_CHARS = 100


class Kind(StrEnum):
    """The wire type of a field."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ENUM = "enum"
    MESSAGE = "message"


@dataclass(frozen=True)
class Field:
    """One request field.

    Attributes:
        name: The snake_case name; the camelCase spelling is accepted too.
        kind: The wire type.
        required: Absent, null, "" or [] is an error.
        repeated: A list (repeated query keys on GET).
        alias: A legacy second name for the same value (`run_uuid` for `run_id`).
        choices: Enum names, numbered from 1 as in MLflow's protos.
        fields: The fields of each message, for `Kind.MESSAGE`.
    """

    name: str
    kind: Kind = Kind.STRING
    required: bool = False
    repeated: bool = False
    alias: str | None = None
    choices: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()


def string(name: str, *, required: bool = False, alias: str | None = None) -> Field:
    """A string field."""
    return Field(name, Kind.STRING, required=required, alias=alias)


def strings(name: str, *, required: bool = False) -> Field:
    """A list of strings."""
    return Field(name, Kind.STRING, required=required, repeated=True)


def integer(name: str, *, required: bool = False) -> Field:
    """A 64-bit integer field."""
    return Field(name, Kind.INTEGER, required=required)


def number(name: str, *, required: bool = False) -> Field:
    """A double field (NaN and infinities allowed)."""
    return Field(name, Kind.NUMBER, required=required)


def boolean(name: str, *, required: bool = False) -> Field:
    """A boolean field."""
    return Field(name, Kind.BOOLEAN, required=required)


def enum(name: str, choices: Sequence[str]) -> Field:
    """An enum field, given by name or by number (1-based, in `choices` order); parsed to the name."""
    return Field(name, Kind.ENUM, choices=tuple(choices))


def messages(name: str, *fields: Field) -> Field:
    """A list of messages with the given fields."""
    return Field(name, Kind.MESSAGE, repeated=True, fields=fields)


@cache
def camel_case(name: str) -> str:
    """The protobuf JSON (lowerCamelCase) spelling of a snake_case field name."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse_fields(raw: Mapping[str, Any], spec: Sequence[Field], where: str = "") -> Args:
    """Check and convert the fields of one message; the result holds only fields that were given."""
    parsed: Args = {}
    for field in spec:
        label = f"{where}{field.name}"
        value = _pick(raw, field, where)
        if _is_empty(value, field):
            if field.required:
                raise InvalidArgument(f"Missing value for required parameter '{label}'")
            if value is None:
                continue
        parsed[field.name] = _convert_field(value, field, label)
    return parsed


def _pick(raw: Mapping[str, Any], field: Field, where: str) -> Any:
    value = _spelled(raw, field.name, where)
    if field.alias is None:
        return value
    other = _spelled(raw, field.alias, where)
    if value in (None, ""):
        return other
    if other not in (None, "") and other != value:
        raise InvalidArgument(
            f"'{where}{field.name}' ({_shown(value)}) and '{where}{field.alias}' ({_shown(other)}) differ"
        )
    return value


def _spelled(raw: Mapping[str, Any], name: str, where: str) -> Any:
    value = raw.get(name)
    camel = camel_case(name)
    if camel == name:
        return value
    other = raw.get(camel)
    if value is not None and other is not None:
        raise InvalidArgument(f"Both '{where}{name}' and '{where}{camel}' were given; use one spelling")
    return value if value is not None else other


def _is_empty(value: Any, field: Field) -> bool:
    if value is None:
        return True
    if field.repeated:
        return isinstance(value, list) and not value
    return field.kind is Kind.STRING and value == ""


def _convert_field(value: Any, field: Field, label: str) -> Any:
    if not field.repeated:
        return _convert(value, field, label)
    if not isinstance(value, list):
        raise _invalid(value, label, "expected a list")
    return [_convert(item, field, f"{label}[{index}]") for index, item in enumerate(value)]


def _convert(value: Any, field: Field, label: str) -> Any:
    return _CONVERTERS[field.kind](value, field, label)


def _to_string(value: Any, field: Field, label: str) -> str:
    if not isinstance(value, str):
        raise _invalid(value, label, "expected a string")
    return value


def _to_integer(value: Any, field: Field, label: str) -> int:
    is_digits = isinstance(value, str) and _DIGITS.match(value.strip()) is not None
    if is_digits or (isinstance(value, float) and value.is_integer()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(value, label, "expected an integer")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _invalid(value, label, "outside the 64-bit integer range")
    return value


def _to_number(value: Any, field: Field, label: str) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise _invalid(value, label, "expected a number, 'NaN', 'Infinity' or '-Infinity'") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(value, label, "expected a number")
    try:
        return float(value)
    except OverflowError:
        raise _invalid(value, label, "outside the double range") from None


def _to_boolean(value: Any, field: Field, label: str) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise _invalid(value, label, "expected true or false")
    return value


def _to_enum(value: Any, field: Field, label: str) -> str:
    if isinstance(value, str) and _DIGITS.match(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(field.choices):
        return field.choices[value - 1]
    if isinstance(value, str) and value.upper() in field.choices:
        return value.upper()
    raise _invalid(value, label, f"expected one of {', '.join(field.choices)}")


def _to_message(value: Any, field: Field, label: str) -> Args:
    if not isinstance(value, dict):
        raise _invalid(value, label, "expected a JSON object")
    return parse_fields(value, field.fields, f"{label}.")


_CONVERTERS: dict[Kind, Callable[[Any, Field, str], Any]] = {
    Kind.STRING: _to_string,
    Kind.INTEGER: _to_integer,
    Kind.NUMBER: _to_number,
    Kind.BOOLEAN: _to_boolean,
    Kind.ENUM: _to_enum,
    Kind.MESSAGE: _to_message,
}


def _invalid(value: Any, label: str, reason: str) -> InvalidArgument:
    return InvalidArgument(f"Invalid value {_shown(value)} for parameter '{label}' supplied: {reason}")


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def query_fields(params: QueryParams, spec: Sequence[Field]) -> dict[str, Any]:
    """The raw values of a query string for the fields of `spec`: lists for repeated fields."""
    raw: dict[str, Any] = {}
    for field in spec:
        for name in {field.name, camel_case(field.name), *_alias_spellings(field)}:
            if name in params:
                raw[name] = params.getlist(name) if field.repeated else params[name]
    return raw


def _alias_spellings(field: Field) -> tuple[str, ...]:
    return (field.alias, camel_case(field.alias)) if field.alias else ()


async def read_json_body(request: Request, limit: int) -> dict[str, Any]:
    """The JSON object a request carries ({} for an empty body), read up to `limit` bytes.

    Raises:
        InvalidArgument: the Content-Type is not JSON, or the body is not a JSON object.
        HTTPException: 413 when the body is larger than `limit`.
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise InvalidArgument("Bad Request. Content-Type must be application/json")
    body = await _read_capped(request, limit)
    if not body.strip():
        return {}
    data = _decode_json(body)
    if isinstance(data, str):  # very old clients encode the JSON body twice
        data = _decode_json(data.encode())
    if not isinstance(data, dict):
        raise InvalidArgument("Bad Request. The request body must be a JSON object")
    return data


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode_json(body: bytes) -> Any:
    try:
        return loads_json(body)
    except ValueError as error:
        raise InvalidArgument(f"Bad Request. The request body is not valid JSON: {error}") from None


async def read_args(request: Request, spec: Sequence[Field]) -> Args:
    """Parse a request against `spec`: the query string for GET, the JSON body for other methods."""
    if request.method == "GET":
        raw: Mapping[str, Any] = query_fields(request.query_params, spec)
    else:
        raw = await read_json_body(request, get_services(request).config.max_body_bytes)
    return parse_fields(raw, spec)


def parsed(*spec: Field) -> Callable[[Request], Awaitable[Args]]:
    """A FastAPI dependency that parses the request against these fields.

    Routes then run as plain functions in the thread pool, so store calls never block the event loop.
    """

    async def dependency(request: Request) -> Args:
        return await read_args(request, spec)

    return dependency


ServicesDep = Annotated[Services, Depends(get_services)]
