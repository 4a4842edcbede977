"""The search filter and order_by grammar: parse text into a schema-checked syntax tree.

`parse_filter` and `parse_order_by` read MLflow's grammar (see `cairn.store.search.parser`)
against a `SearchSchema` (`RUN_SEARCH`, `EXPERIMENT_SEARCH`, the registry's schemas); the SQL
layer compiles the resulting `Comparison` and `OrderKey` values to bound parameters.
"""

from cairn.store.search.nodes import ALL_COMPARATORS, Comparison, Entity, Key, OrderKey
from cairn.store.search.parser import (
    MAX_FILTER_CLAUSES,
    MAX_FILTER_LENGTH,
    describe_key,
    parse_filter,
    parse_order_by,
)
from cairn.store.search.schema import (
    ENTITY_PREFIXES,
    EXPERIMENT_SEARCH,
    LOGGED_MODEL_SEARCH,
    MODEL_VERSION_SEARCH,
    REGISTERED_MODEL_SEARCH,
    RUN_SEARCH,
    EntityRule,
    FieldRule,
    SearchSchema,
    ValueType,
)
from cairn.store.search.tokens import SearchSyntaxError

__all__ = [
    "ALL_COMPARATORS",
    "ENTITY_PREFIXES",
    "EXPERIMENT_SEARCH",
    "LOGGED_MODEL_SEARCH",
    "MAX_FILTER_CLAUSES",
    "MAX_FILTER_LENGTH",
    "MODEL_VERSION_SEARCH",
    "REGISTERED_MODEL_SEARCH",
    "RUN_SEARCH",
    "Comparison",
    "Entity",
    "EntityRule",
    "FieldRule",
    "Key",
    "OrderKey",
    "SearchSchema",
    "SearchSyntaxError",
    "ValueType",
    "describe_key",
    "parse_filter",
    "parse_order_by",
]
