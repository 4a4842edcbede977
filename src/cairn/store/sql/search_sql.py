"""Compiling parsed search filters and orderings into SQLAlchemy clauses with bound parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, case, false, literal, select, true
from sqlalchemy.sql.elements import UnaryExpression

from cairn.entities.dataset import DATASET_CONTEXT_TAG
from cairn.errors import InvalidArgument
from cairn.store.search import Comparison, Entity, OrderKey
from cairn.store.sql.tables import (
    datasets,
    experiment_tags,
    experiments,
    input_tags,
    latest_metrics,
    params,
    run_inputs,
    runs,
    tags,
)

_RUN_ATTRIBUTES: dict[str, Any] = {
    "run_id": runs.c.run_uuid,
    "run_name": runs.c.name,
    "user_id": runs.c.user_id,
    "status": runs.c.status,
    "artifact_uri": runs.c.artifact_uri,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
}
_EXPERIMENT_ATTRIBUTES: dict[str, Any] = {
    "name": experiments.c.name,
    "experiment_id": experiments.c.experiment_id,
    "creation_time": experiments.c.creation_time,
    "last_update_time": experiments.c.last_update_time,
}


def compare(column: Any, op: str, value: Any, dialect: str) -> ColumnElement[bool]:
    """`column <op> value` as a bound SQL expression; LIKE is case-sensitive on every dialect."""
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return column != value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op == "IN":
        return column.in_(list(value))  # type: ignore[no-any-return]
    if op == "NOT IN":
        return column.not_in(list(value))  # type: ignore[no-any-return]
    if op == "ILIKE":
        return column.ilike(value)  # type: ignore[no-any-return]
    if op == "LIKE":
        if dialect == "sqlite":
            # SQLite's LIKE ignores ASCII case; GLOB is case-sensitive, so translate the pattern.
            return column.op("GLOB")(like_to_glob(value))  # type: ignore[no-any-return]
        return column.like(value)  # type: ignore[no-any-return]
    raise InvalidArgument(f"comparator {op!r} is not supported here")


def like_to_glob(pattern: str) -> str:
    """Translate a SQL LIKE pattern (% and _) into an equivalent SQLite GLOB pattern."""
    out = []
    for char in pattern:
        if char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        elif char in "*?[":
            out.append(f"[{char}]")
        else:
            out.append(char)
    return "".join(out)


def _value_condition(table: Table, comparison: Comparison, dialect: str) -> list[ColumnElement[bool]]:
    """Conditions on a key/value table row that make `comparison` true (besides the key matching)."""
    if comparison.op in ("IS NULL", "IS NOT NULL"):
        return []
    conditions = [compare(table.c.value, comparison.op, comparison.value, dialect)]
    if table is latest_metrics:
        conditions.insert(0, latest_metrics.c.is_nan == false())
    return conditions


def _driving_clause(table: Table, comparison: Comparison, dialect: str) -> ColumnElement[bool]:
    """`run_uuid IN (matching rows)`: the planner starts from this index range."""
    matches = select(table.c.run_uuid).where(
        table.c.key == comparison.key.name, *_value_condition(table, comparison, dialect)
    )
    return runs.c.run_uuid.in_(matches)


def _probing_clause(table: Table, comparison: Comparison, dialect: str) -> ColumnElement[bool]:
    """A correlated EXISTS: one primary-key probe per candidate run."""
    has_key = select(literal(1)).where(
        table.c.run_uuid == runs.c.run_uuid, table.c.key == comparison.key.name
    )
    if comparison.op == "IS NULL":
        return ~has_key.exists()
    return has_key.where(*_value_condition(table, comparison, dialect)).exists()


_KEYED_TABLES = {Entity.METRIC: latest_metrics, Entity.PARAM: params, Entity.TAG: tags}


def _driver_rank(comparison: Comparison) -> int:
    """How well a clause can drive the search: lower is more selective; None-like 99 cannot drive."""
    entity, op = comparison.key.entity, comparison.op
    if entity not in _KEYED_TABLES or op in ("IS NULL", "!=", "NOT IN"):
        return 99
    if op in ("=", "IN"):
        return 0 if entity is not Entity.METRIC else 1
    if op in ("<", "<=", ">", ">="):
        return 2
    return 3


def run_where_clauses(comparisons: Sequence[Comparison], dialect: str) -> list[ColumnElement[bool]]:
    """WHERE clauses for a run search.

    The clause most likely to be selective (an equality on a param or tag, say) becomes an `IN` over its
    index range and drives the query; every other key/value clause is a correlated `EXISTS`, a primary-key
    probe per candidate, which is far cheaper than materialising a second large set of run ids.
    """
    ranks = [_driver_rank(c) for c in comparisons]
    driver = ranks.index(min(ranks)) if ranks and min(ranks) < 99 else -1
    clauses: list[ColumnElement[bool]] = []
    for index, comparison in enumerate(comparisons):
        entity = comparison.key.entity
        table = _KEYED_TABLES.get(entity)
        if table is not None:
            build = _driving_clause if index == driver else _probing_clause
            clauses.append(build(table, comparison, dialect))
        elif entity is Entity.ATTRIBUTE:
            clauses.append(_attribute_clause(_RUN_ATTRIBUTES, comparison, dialect))
        elif entity is Entity.DATASET:
            clauses.append(_dataset_clause(comparison, dialect))
        else:
            raise InvalidArgument(f"runs cannot be filtered on {entity.value} {comparison.key.name!r}")
    return clauses


def _dataset_clause(comparison: Comparison, dialect: str) -> ColumnElement[bool]:
    """A correlated EXISTS: the run has a dataset input whose name, digest or context matches.

    As in MLflow, `!=` and `NOT IN` ask for an input that differs, not for the absence of a matching one.
    """
    field = comparison.key.name
    if field == "context":
        context = select(literal(1)).where(
            input_tags.c.run_uuid == runs.c.run_uuid,
            input_tags.c.key == DATASET_CONTEXT_TAG,
            compare(input_tags.c.value, comparison.op, comparison.value, dialect),
        )
        return context.exists()
    if field not in ("name", "digest"):
        raise InvalidArgument(f"datasets.{field} cannot be searched; use name, digest or context")
    linked = run_inputs.join(datasets, datasets.c.dataset_uuid == run_inputs.c.dataset_uuid)
    matches = (
        select(literal(1))
        .select_from(linked)
        .where(
            run_inputs.c.run_uuid == runs.c.run_uuid,
            compare(datasets.c[field], comparison.op, comparison.value, dialect),
        )
    )
    return matches.exists()


def _attribute_clause(columns: dict[str, Any], comparison: Comparison, dialect: str) -> ColumnElement[bool]:
    column = columns.get(comparison.key.name)
    if column is None:
        raise InvalidArgument(f"attribute {comparison.key.name!r} cannot be searched")
    value = comparison.value
    if comparison.key.name == "status":
        value = tuple(v.upper() for v in value) if isinstance(value, tuple) else str(value).upper()
    if comparison.key.name == "experiment_id":
        return _experiment_id_clause(comparison.op, value)
    if comparison.op == "IS NULL":
        return column.is_(None)  # type: ignore[no-any-return]
    if comparison.op == "IS NOT NULL":
        return column.is_not(None)  # type: ignore[no-any-return]
    return compare(column, comparison.op, value, dialect)


def _experiment_id_clause(op: str, value: Any) -> ColumnElement[bool]:
    """Experiment ids are integers in SQL but strings in the API; ids that are not numbers match nothing."""
    values = list(value) if isinstance(value, tuple) else [value]
    numbers = [int(v) for v in values if str(v).isdigit()]
    column = experiments.c.experiment_id
    if op == "=":
        return column == numbers[0] if numbers else false()
    if op == "!=":
        return column != numbers[0] if numbers else true()
    if op == "IN":
        return column.in_(numbers) if numbers else false()
    if op == "NOT IN":
        return column.not_in(numbers) if numbers else true()
    raise InvalidArgument(f"experiment_id supports =, !=, IN and NOT IN, not {op}")


def experiment_where_clauses(comparisons: Sequence[Comparison], dialect: str) -> list[ColumnElement[bool]]:
    """WHERE clauses for an experiment search."""
    clauses: list[ColumnElement[bool]] = []
    for comparison in comparisons:
        if comparison.key.entity is Entity.TAG:
            has_key = select(experiment_tags.c.experiment_id).where(
                experiment_tags.c.key == comparison.key.name
            )
            if comparison.op == "IS NULL":
                clauses.append(experiments.c.experiment_id.not_in(has_key))
                continue
            if comparison.op != "IS NOT NULL":
                has_key = has_key.where(
                    compare(experiment_tags.c.value, comparison.op, comparison.value, dialect)
                )
            clauses.append(experiments.c.experiment_id.in_(has_key))
        else:
            clauses.append(_attribute_clause(_EXPERIMENT_ATTRIBUTES, comparison, dialect))
    return clauses


def _ordered(expression: Any, ascending: bool) -> UnaryExpression[Any]:
    return expression.asc() if ascending else expression.desc()  # type: ignore[no-any-return]


def apply_run_order(stmt: Select[Any], order_keys: Sequence[OrderKey]) -> Select[Any]:
    """Add ORDER BY to a run search: missing values last, then start_time DESC and run_id ASC."""
    clauses: list[Any] = []
    for index, order in enumerate(order_keys):
        entity, name = order.key.entity, order.key.name
        if entity is Entity.ATTRIBUTE:
            column = _RUN_ATTRIBUTES[name]
            clauses += [
                _ordered(case((column.is_(None), 1), else_=0), True),
                _ordered(column, order.ascending),
            ]
            continue
        table = {Entity.METRIC: latest_metrics, Entity.PARAM: params, Entity.TAG: tags}.get(entity)
        if table is None:
            raise InvalidArgument(f"cannot order runs by {entity.value} {name!r}")
        joined = table.alias(f"order_{index}")
        stmt = stmt.outerjoin(joined, and_(joined.c.run_uuid == runs.c.run_uuid, joined.c.key == name))
        if entity is Entity.METRIC:
            rank = case((joined.c.run_uuid.is_(None), 2), (joined.c.is_nan, 1), else_=0)
        else:
            rank = case((joined.c.run_uuid.is_(None), 1), else_=0)
        clauses += [rank.asc(), _ordered(joined.c.value, order.ascending)]
    clauses += [runs.c.start_time.desc(), runs.c.run_uuid.asc()]
    return stmt.order_by(*clauses)


def experiment_order_clauses(order_keys: Sequence[OrderKey]) -> list[Any]:
    """ORDER BY clauses for an experiment search: creation_time DESC, experiment_id ASC by default."""
    clauses = [_ordered(_EXPERIMENT_ATTRIBUTES[o.key.name], o.ascending) for o in order_keys]
    if not order_keys:
        clauses.append(experiments.c.creation_time.desc())
    if not any(o.key.name == "experiment_id" for o in order_keys):
        clauses.append(experiments.c.experiment_id.asc())
    return clauses
