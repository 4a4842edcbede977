"""The DuckDB aggregate expressions behind column profiles, built with quoted names and bound parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cairn.data.profile_types import QUANTILE_LEVELS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ColumnPlan", "Params", "column_kind", "first_pass", "histogram_expr", "quote", "top_counts_expr"]


def quote(identifier: str) -> str:
    """`identifier` as a DuckDB quoted identifier (embedded double quotes doubled)."""
    return '"' + identifier.replace('"', '""') + '"'


def column_kind(data_type: pa.DataType) -> str:
    """The profile kind of an Arrow type: numeric, boolean, string, temporal, nested or other."""
    import pyarrow.types as pat

    if pat.is_dictionary(data_type):
        return column_kind(data_type.value_type)
    if pat.is_integer(data_type) or pat.is_floating(data_type) or pat.is_decimal(data_type):
        return "numeric"
    if pat.is_boolean(data_type):
        return "boolean"
    if pat.is_string(data_type) or pat.is_large_string(data_type) or pat.is_string_view(data_type):
        return "string"
    if pat.is_timestamp(data_type) or pat.is_date(data_type) or pat.is_time(data_type):
        return "temporal"
    if pat.is_nested(data_type):
        return "nested"
    return "other"


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is profiled: its Arrow name and type, its DuckDB name, and its kind.

    Attributes:
        name: The Arrow column name.
        data_type: The Arrow type.
        sql: The column's quoted DuckDB identifier, or None when DuckDB cannot read the type.
        kind: The profile kind.
    """

    name: str
    data_type: pa.DataType
    sql: str | None
    kind: str

    @property
    def is_float(self) -> bool:
        """True for floating-point columns (whose NaN and infinities are counted apart)."""
        import pyarrow.types as pat

        value_type = self.data_type.value_type if pat.is_dictionary(self.data_type) else self.data_type
        return bool(pat.is_floating(value_type))

    @property
    def is_integer(self) -> bool:
        """True for integer columns (whose min/max stay exact integers)."""
        import pyarrow.types as pat

        value_type = self.data_type.value_type if pat.is_dictionary(self.data_type) else self.data_type
        return bool(pat.is_integer(value_type))

    @property
    def as_double(self) -> str:
        """The column cast to DOUBLE."""
        return f"CAST({self.sql} AS DOUBLE)"

    @property
    def as_text(self) -> str:
        """The column as VARCHAR (dictionary columns may arrive as ENUM)."""
        return f"CAST({self.sql} AS VARCHAR)"


class Params:
    """Positional query parameters, collected in the order their `?` placeholders appear."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        """Bind `value`; returns the placeholder to put in the SQL text at this point."""
        self.values.append(value)
        return "?"


def first_pass(plan: ColumnPlan, top_k: int) -> list[tuple[str, str]]:
    """The (statistic, expression) pairs of the main aggregate query for one readable column."""
    column = plan.sql
    stats = [("count", f"count({column})")]
    if plan.kind == "nested":
        return stats
    stats.append(("distinct_count", f"approx_count_distinct({column})"))
    if plan.kind == "numeric":
        stats.extend(_numeric(plan))
    elif plan.kind == "string":
        length = f"length({plan.as_text})"
        stats += [
            ("min_length", f"min({length})"),
            ("max_length", f"max({length})"),
            ("mean_length", f"avg({length})"),
        ]
    elif plan.kind == "temporal":
        stats += [("min", f"min({column})"), ("max", f"max({column})")]
    elif plan.kind == "boolean":
        stats.append(("true_count", f"count(*) FILTER (WHERE {column})"))
    return stats


def _numeric(plan: ColumnPlan) -> list[tuple[str, str]]:
    value = plan.as_double
    finite = f" FILTER (WHERE isfinite({value}))" if plan.is_float else ""
    extreme = plan.sql if plan.is_integer else value
    stats = [
        ("min", f"min({extreme}){finite}"),
        ("max", f"max({extreme}){finite}"),
        ("mean", f"avg({value}){finite}"),
        ("std", f"stddev_samp({value}){finite}"),
    ]
    if plan.is_float:
        stats.append(("non_finite_count", f"count({plan.sql}) FILTER (WHERE NOT isfinite({value}))"))
    return stats


def sampled_pass(plan: ColumnPlan, top_k: int) -> list[tuple[str, str]]:
    """The (statistic, expression) pairs computed on a row sample: quantiles and top-value candidates.

    Both are approximations already (t-digest, space-saving); on large data they are computed from a
    sample because they cost several times a plain aggregate per column.
    """
    if plan.sql is None:
        return []
    if plan.kind == "numeric":
        value = plan.as_double
        finite = f" FILTER (WHERE isfinite({value}))" if plan.is_float else ""
        levels = ", ".join(repr(level) for level in QUANTILE_LEVELS.values())
        return [("quantiles", f"approx_quantile({value}, [{levels}]){finite}")]
    if plan.kind == "string" and top_k > 0:
        return [("top_candidates", f"approx_top_k({plan.as_text}, {int(top_k)})")]
    return []


def histogram_expr(plan: ColumnPlan, edges: Sequence[float], params: Params) -> str:
    """An aggregate mapping bucket index to count: -1 below `edges[0]`, len(edges) - 1 above `edges[-1]`."""
    value = plan.as_double
    parts = [f"WHEN {value} < {params.add(float(edges[0]))} THEN -1"]
    for index, edge in enumerate(edges[1:-1]):
        parts.append(f"WHEN {value} < {params.add(float(edge))} THEN {index}")
    last = len(edges) - 2
    parts.append(f"WHEN {value} <= {params.add(float(edges[-1]))} THEN {last} ELSE {last + 1}")
    return f"histogram(CASE {' '.join(parts)} END) FILTER (WHERE isfinite({value}))"


def top_counts_expr(plan: ColumnPlan, candidates: Sequence[str], params: Params) -> str:
    """An aggregate mapping each candidate value to its exact row count."""
    text = plan.as_text
    return f"histogram({text}) FILTER (WHERE list_contains({params.add(list(candidates))}, {text}))"
