"""Validation rules as YAML: a strict loader (safe_load only) and a dumper that round-trips."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from cairn.data import rules as rule_builders
from cairn.data.rules import Custom, Rule, default_name
from cairn.errors import InvalidArgument, NotFound

__all__ = ["RULE_KINDS", "dump_rules", "load_rules"]

_BUILDERS: dict[str, Callable[..., Rule]] = {
    "column_present": rule_builders.column_present,
    "not_null": rule_builders.not_null,
    "unique": rule_builders.unique,
    "in_range": rule_builders.in_range,
    "in_set": rule_builders.in_set,
    "matches": rule_builders.matches,
    "row_count": rule_builders.row_count,
    "fresh": rule_builders.fresh,
}
#: The rule kinds a YAML file may hold (custom rules are Python functions and cannot).
RULE_KINDS = tuple(_BUILDERS)
_ITEM_KEYS = ("name", "severity")
_MAX_TEXT = 10_000_000


def _parameters(kind: str) -> dict[str, inspect.Parameter]:
    """The builder's own arguments (not name or severity), in order."""
    parameters = inspect.signature(_BUILDERS[kind]).parameters
    return {key: value for key, value in parameters.items() if key not in _ITEM_KEYS}


def load_rules(source: str | Path) -> list[Rule]:
    """Rules from a YAML file (a `Path`, or a string naming an existing `.yaml`/`.yml` file) or YAML text.

    The document is `{"rules": [{KIND: {ARGUMENT: VALUE, ...}, "severity": ..., "name": ...}, ...]}`.

    Raises:
        InvalidArgument: for YAML that does not parse, an unknown rule kind or argument (naming the rule's
            index and the key), a `custom` rule, or a bad value.
        NotFound: when a named rules file does not exist.
    """
    document = _parse(_read(source))
    if not isinstance(document, dict) or set(document) != {"rules"}:
        keys = sorted(map(str, document)) if isinstance(document, dict) else type(document).__name__
        raise InvalidArgument(f"a rules file holds one key, 'rules', with a list of rules; got {keys}")
    items = document["rules"]
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidArgument(f"'rules' must be a list, got {type(items).__name__}")
    return [_rule(index, item) for index, item in enumerate(items)]


def _read(source: str | Path) -> str:
    if isinstance(source, str):
        if "\n" in source or not (source.endswith((".yaml", ".yml")) or Path(source).is_file()):
            return source
        source = Path(source)
    if not isinstance(source, Path):
        raise InvalidArgument(f"rules must be YAML text or a file path, got {type(source).__name__}")
    try:
        return source.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise NotFound(f"rules file {str(source)!r} does not exist") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"rules file {str(source)!r} cannot be read: {error}") from error


def _parse(text: str) -> Any:
    if len(text) > _MAX_TEXT:
        raise InvalidArgument(f"rules YAML is {len(text)} characters; the limit is {_MAX_TEXT}")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidArgument(f"rules YAML does not parse: {error}") from error


def _rule(index: int, item: Any) -> Rule:
    """One list item, `{KIND: {arguments}, severity: ..., name: ...}`, as a rule."""
    where = f"rules[{index}]"
    if not isinstance(item, dict):
        raise InvalidArgument(f"{where} must be a mapping such as {{not_null: {{column: x}}}}, got {item!r}")
    kinds = [key for key in item if key not in _ITEM_KEYS]
    if len(kinds) != 1:
        raise InvalidArgument(f"{where} must name exactly one rule kind; got keys {sorted(map(str, item))}")
    kind = kinds[0]
    if kind == "custom":
        raise InvalidArgument(
            f"{where}: custom rules run Python functions and cannot come from YAML; "
            "build them in Python with cairn.data.rules.custom(name, fn)"
        )
    if kind not in _BUILDERS:
        raise InvalidArgument(f"{where}: unknown rule kind {kind!r}; known kinds: {', '.join(RULE_KINDS)}")
    arguments = item[kind] if item[kind] is not None else {}
    if not isinstance(arguments, dict):
        raise InvalidArgument(f"{where} ({kind}): arguments must be a mapping, got {arguments!r}")
    parameters = _parameters(kind)
    for key in arguments:
        if key not in parameters:
            raise InvalidArgument(
                f"{where} ({kind}): unknown argument {key!r}; expected one of {', '.join(parameters)}"
            )
    for key, parameter in parameters.items():
        if parameter.default is inspect.Parameter.empty and key not in arguments:
            raise InvalidArgument(f"{where} ({kind}): missing argument {key!r}")
    extra = {key: item[key] for key in _ITEM_KEYS if key in item}
    try:
        return _BUILDERS[kind](**arguments, **extra)
    except InvalidArgument as error:
        raise InvalidArgument(f"{where} ({kind}): {error.message}") from error


def dump_rules(rules: Sequence[Rule]) -> str:
    """The YAML text of `rules`, which `load_rules` reads back to equal rules.

    Arguments equal to their defaults, default names and "error" severities are left out.

    Raises:
        InvalidArgument: for a custom rule (a Python function has no YAML form).
    """
    items: list[dict[str, Any]] = []
    for rule in rules:
        if isinstance(rule, Custom) or rule.kind not in _BUILDERS:
            raise InvalidArgument(f"rule {rule.name!r} of kind {rule.kind!r} cannot be written as YAML")
        parameters = _parameters(rule.kind)
        arguments = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in rule.arguments().items()
            if parameters[key].default is inspect.Parameter.empty or value != parameters[key].default
        }
        item: dict[str, Any] = {rule.kind: arguments}
        if rule.name != default_name(rule.kind, rule.column_name):
            item["name"] = rule.name
        if rule.severity != "error":
            item["severity"] = rule.severity
        items.append(item)
    return yaml.safe_dump({"rules": items}, sort_keys=False, default_flow_style=None, allow_unicode=True)
