"""The syntax tree a parsed search filter or order_by clause becomes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

EQUALITY_COMPARATORS = frozenset({"=", "!="})
"""Comparators every field kind accepts."""

ORDERING_COMPARATORS = frozenset({"<", "<=", ">", ">="})
"""Comparators that need a numeric value."""

PATTERN_COMPARATORS = frozenset({"LIKE", "ILIKE"})
"""SQL pattern comparators (`%` and `_` wildcards); the pattern is kept as written."""

LIST_COMPARATORS = frozenset({"IN", "NOT IN"})
"""Membership comparators; the value is a non-empty tuple of strings."""

NULL_COMPARATORS = frozenset({"IS NULL", "IS NOT NULL"})
"""Presence comparators; the value is None."""

ALL_COMPARATORS = (
    EQUALITY_COMPARATORS | ORDERING_COMPARATORS | PATTERN_COMPARATORS | LIST_COMPARATORS | NULL_COMPARATORS
)
"""Every comparator a `Comparison.op` may hold."""


class Entity(StrEnum):
    """What a search key names: a run attribute, a metric, a param, a tag or a dataset field."""

    ATTRIBUTE = "attribute"
    METRIC = "metric"
    PARAM = "param"
    TAG = "tag"
    DATASET = "dataset"


@dataclass(frozen=True)
class Key:
    """A resolved search key.

    Attributes:
        entity: The kind of thing the key names.
        name: The canonical key: aliases resolved (attribute `created` -> `start_time`),
            quotes and backticks removed, and for dotted keys everything after the entity
            prefix (`tags.mlflow.runName` -> `mlflow.runName`).
    """

    entity: Entity
    name: str


@dataclass(frozen=True)
class Comparison:
    """One clause of a filter: `key op value`.

    Attributes:
        key: What is compared.
        op: One of `ALL_COMPARATORS`.
        value: A float for metrics, an int for numeric attributes, a str for string fields,
            a tuple of str for `IN` / `NOT IN`, and None for `IS NULL` / `IS NOT NULL`.
    """

    key: Key
    op: str
    value: str | float | int | tuple[str, ...] | None


@dataclass(frozen=True)
class OrderKey:
    """One order_by clause: sort by `key`, ascending unless told otherwise."""

    key: Key
    ascending: bool
