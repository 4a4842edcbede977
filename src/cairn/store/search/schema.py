"""Table-driven descriptions of what each search endpoint lets a filter and order_by name.

A new searchable resource (registered models, model versions, ...) is a new `SearchSchema`
value built from `EntityRule` and `FieldRule` objects; the parser needs no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from cairn.store.search.nodes import (
    ALL_COMPARATORS,
    EQUALITY_COMPARATORS,
    LIST_COMPARATORS,
    NULL_COMPARATORS,
    ORDERING_COMPARATORS,
    PATTERN_COMPARATORS,
    Entity,
)


class ValueType(Enum):
    """The kind of literal a field is compared with."""

    FLOAT = "a number"
    INTEGER = "an integer"
    STRING = "a quoted string"


@dataclass(frozen=True)
class FieldRule:
    """How one searchable field may be used.

    Attributes:
        value_type: The literal the field is compared with.
        comparators: The comparators a filter may apply to it; empty means not filterable.
        orderable: Whether order_by may sort by it.
    """

    value_type: ValueType
    comparators: frozenset[str]
    orderable: bool = True

    def __post_init__(self) -> None:
        unknown = self.comparators - ALL_COMPARATORS
        if unknown:
            raise ValueError(f"unknown comparators {sorted(unknown)}")
        string_only = PATTERN_COMPARATORS | LIST_COMPARATORS
        if self.value_type is ValueType.STRING and self.comparators & ORDERING_COMPARATORS:
            raise ValueError("string fields cannot take <, <=, > or >=")
        if self.value_type is not ValueType.STRING and self.comparators & string_only:
            raise ValueError("LIKE, ILIKE, IN and NOT IN need a string field")


@dataclass(frozen=True, eq=False)
class EntityRule:
    """The fields one entity (attributes, metrics, ...) offers.

    Attributes:
        fields: Named fields with their rules (attributes, dataset fields).
        any_key: The rule for keys not in `fields` (metrics, params, tags); None means only
            the named fields exist.
        aliases: Alternative spellings mapped to a canonical name in `fields`.
    """

    fields: Mapping[str, FieldRule] = field(default_factory=dict)
    any_key: FieldRule | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        dangling = set(self.aliases.values()) - set(self.fields)
        if dangling:
            raise ValueError(f"aliases point at unknown fields {sorted(dangling)}")
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "aliases", MappingProxyType(dict(self.aliases)))

    def lookup(self, name: str) -> tuple[str, FieldRule] | None:
        """Return the canonical name and rule for `name`, or None if the entity has no such field."""
        canonical = self.aliases.get(name, name)
        rule = self.fields.get(canonical)
        if rule is not None:
            return canonical, rule
        if self.any_key is not None:
            return name, self.any_key
        return None

    def field_names(self, *, orderable_only: bool = False) -> list[str]:
        """Return the sorted canonical field names, for error messages."""
        return sorted(name for name, rule in self.fields.items() if rule.orderable or not orderable_only)


ENTITY_PREFIXES: Mapping[str, Entity] = MappingProxyType(
    {
        "metric": Entity.METRIC,
        "metrics": Entity.METRIC,
        "parameter": Entity.PARAM,
        "parameters": Entity.PARAM,
        "param": Entity.PARAM,
        "params": Entity.PARAM,
        "tag": Entity.TAG,
        "tags": Entity.TAG,
        "attribute": Entity.ATTRIBUTE,
        "attributes": Entity.ATTRIBUTE,
        "attr": Entity.ATTRIBUTE,
        "run": Entity.ATTRIBUTE,
        "dataset": Entity.DATASET,
        "datasets": Entity.DATASET,
    }
)
"""The `<prefix>.` spellings (matched case-insensitively) that select an entity."""


@dataclass(frozen=True, eq=False)
class SearchSchema:
    """Everything a filter or order_by may name when searching one kind of resource.

    Attributes:
        subject: What is searched, plural, for error messages ("runs").
        entities: The entities this search accepts and their fields.
        prefixes: Lower-case `<prefix>.` spellings and the entity each selects.
    """

    subject: str
    entities: Mapping[Entity, EntityRule]
    prefixes: Mapping[str, Entity] = field(default_factory=lambda: ENTITY_PREFIXES)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", MappingProxyType(dict(self.entities)))
        object.__setattr__(
            self, "prefixes", MappingProxyType({k.lower(): v for k, v in self.prefixes.items()})
        )

    def prefixes_for_supported(self) -> list[str]:
        """Return the prefixes that select an entity this schema accepts, for error messages."""
        return sorted(prefix for prefix, entity in self.prefixes.items() if entity in self.entities)


_STRING_FIELD = FieldRule(ValueType.STRING, EQUALITY_COMPARATORS | PATTERN_COMPARATORS | LIST_COMPARATORS)
_TIME_FIELD = FieldRule(ValueType.INTEGER, EQUALITY_COMPARATORS | ORDERING_COMPARATORS)
_KEY_VALUE_FIELD = FieldRule(
    ValueType.STRING,
    EQUALITY_COMPARATORS | PATTERN_COMPARATORS | LIST_COMPARATORS | NULL_COMPARATORS,
)
_UNORDERED_KEY_VALUE_FIELD = FieldRule(
    ValueType.STRING,
    EQUALITY_COMPARATORS | PATTERN_COMPARATORS | LIST_COMPARATORS | NULL_COMPARATORS,
    orderable=False,
)
_METRIC_FIELD = FieldRule(ValueType.FLOAT, EQUALITY_COMPARATORS | ORDERING_COMPARATORS | NULL_COMPARATORS)
_DATASET_FIELD = FieldRule(
    ValueType.STRING, EQUALITY_COMPARATORS | PATTERN_COMPARATORS | LIST_COMPARATORS, orderable=False
)

RUN_SEARCH = SearchSchema(
    subject="runs",
    entities={
        Entity.ATTRIBUTE: EntityRule(
            fields={
                "run_id": _STRING_FIELD,
                "run_name": _STRING_FIELD,
                "user_id": _STRING_FIELD,
                "status": _STRING_FIELD,
                "artifact_uri": _STRING_FIELD,
                "start_time": _TIME_FIELD,
                "end_time": _TIME_FIELD,
            },
            aliases={
                "created": "start_time",
                "Created": "start_time",
                "run name": "run_name",
                "Run name": "run_name",
                "Run Name": "run_name",
            },
        ),
        Entity.METRIC: EntityRule(any_key=_METRIC_FIELD),
        Entity.PARAM: EntityRule(any_key=_KEY_VALUE_FIELD),
        Entity.TAG: EntityRule(any_key=_KEY_VALUE_FIELD),
        Entity.DATASET: EntityRule(
            fields={"name": _DATASET_FIELD, "digest": _DATASET_FIELD, "context": _DATASET_FIELD}
        ),
    },
)
"""What `search_runs` filters and order_by may name."""

EXPERIMENT_SEARCH = SearchSchema(
    subject="experiments",
    entities={
        Entity.ATTRIBUTE: EntityRule(
            fields={
                "name": _STRING_FIELD,
                "experiment_id": _STRING_FIELD,
                "creation_time": _TIME_FIELD,
                "last_update_time": _TIME_FIELD,
            }
        ),
        Entity.TAG: EntityRule(any_key=_UNORDERED_KEY_VALUE_FIELD),
    },
)
"""What `search_experiments` filters and order_by may name."""

_NAME_FIELD = FieldRule(ValueType.STRING, EQUALITY_COMPARATORS | PATTERN_COMPARATORS | LIST_COMPARATORS)
_ORDER_ONLY_TIME = FieldRule(ValueType.INTEGER, frozenset())
_REGISTRY_TAG_FIELD = FieldRule(ValueType.STRING, EQUALITY_COMPARATORS | PATTERN_COMPARATORS, orderable=False)

REGISTERED_MODEL_SEARCH = SearchSchema(
    subject="registered models",
    entities={
        Entity.ATTRIBUTE: EntityRule(
            fields={
                "name": _NAME_FIELD,
                "creation_timestamp": _ORDER_ONLY_TIME,
                "last_updated_timestamp": _ORDER_ONLY_TIME,
            },
            aliases={"timestamp": "creation_timestamp"},
        ),
        Entity.TAG: EntityRule(any_key=_REGISTRY_TAG_FIELD),
    },
)
"""What `search_registered_models` filters and order_by may name (MLflow's grammar: no IS NULL)."""

MODEL_VERSION_SEARCH = SearchSchema(
    subject="model versions",
    entities={
        Entity.ATTRIBUTE: EntityRule(
            fields={
                "name": _NAME_FIELD,
                "run_id": FieldRule(
                    ValueType.STRING, EQUALITY_COMPARATORS | LIST_COMPARATORS, orderable=False
                ),
                "source_path": FieldRule(
                    ValueType.STRING, EQUALITY_COMPARATORS | PATTERN_COMPARATORS, orderable=False
                ),
                "version_number": _TIME_FIELD,
                "creation_timestamp": _TIME_FIELD,
                "last_updated_timestamp": _TIME_FIELD,
            },
            aliases={"timestamp": "creation_timestamp"},
        ),
        Entity.TAG: EntityRule(any_key=_REGISTRY_TAG_FIELD),
    },
)
"""What `search_model_versions` filters and order_by may name."""

LOGGED_MODEL_SEARCH = SearchSchema(
    subject="logged models",
    entities={
        Entity.ATTRIBUTE: EntityRule(
            fields={
                "name": _STRING_FIELD,
                "model_id": _STRING_FIELD,
                "model_type": _STRING_FIELD,
                "status": _STRING_FIELD,
                "source_run_id": _STRING_FIELD,
                "creation_timestamp": _TIME_FIELD,
                "last_updated_timestamp": _TIME_FIELD,
            },
            aliases={"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
        ),
        Entity.PARAM: EntityRule(any_key=_REGISTRY_TAG_FIELD),
        Entity.TAG: EntityRule(any_key=_REGISTRY_TAG_FIELD),
    },
)
"""What `search_logged_models` filters may name; order_by takes (attribute, ascending) pairs."""
