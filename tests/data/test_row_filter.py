from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from cairn.data.row_filter import MAX_DEPTH, And, Compare, InList, IsNull, Not, Or, parse_row_filter
from cairn.errors import InvalidArgument


def _table() -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array([1, 123, None, 5, 123], pa.int64()),
            "country": ["DE", "FR", None, "it's", "DE"],
            "e-mail": ["a@x.io", "b@x.io", "c@x.io", None, "d@x.io"],
            "active": [True, False, None, True, True],
            "day": pa.array([dt.date(2024, 1, d) for d in range(1, 6)], pa.date32()),
        }
    )


def _ids(text: str) -> list[int | None]:
    table = _table()
    expression = parse_row_filter(text).to_arrow_expression(table.schema)
    ids: list[int | None] = table.filter(expression).column("user_id").to_pylist()
    return ids


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("user_id = 123", [123, 123]),
        ("user_id != 123", [1, 5]),
        ("user_id <> 123", [1, 5]),
        ("user_id < 5", [1]),
        ("user_id <= 5", [1, 5]),
        ("user_id > 5", [123, 123]),
        ("user_id >= 5.5", [123, 123]),
        ("user_id > -1 AND user_id < 2", [1]),
        ("NOT (user_id = 123)", [1, 5]),
        ("user_id IS NULL", [None]),
        ("user_id IS NOT NULL AND country IS NULL", []),
        ("country IN ('FR', 'it''s')", [123, 5]),
        ("country NOT IN ('DE')", [123, 5]),
        ("\"e-mail\" = 'c@x.io' OR active = FALSE", [123, None]),
        ("active = true and (country = 'DE' or user_id = 5)", [1, 5, 123]),
        ("day >= '2024-01-04'", [5, 123]),
        ("not not user_id = 1", [1]),
    ],
)
def test_filters_select_the_expected_rows(text: str, ids: list[int | None]) -> None:
    assert _ids(text) == ids


def test_tree_precedence_and_columns() -> None:
    parsed = parse_row_filter('a = 1 OR b = 2 AND NOT "c d" IN (1, -2.5e1)')
    assert parsed.root == Or(
        Compare("a", "=", 1), And(Compare("b", "=", 2), Not(InList("c d", (1, -25.0), negated=False)))
    )
    assert parsed.columns == {"a", "b", "c d"}
    assert parse_row_filter('"x""y" IS NOT NULL').root == IsNull('x"y', negated=True)


def test_without_schema_literals_keep_their_type_and_work_on_a_dataset(tmp_path: Path) -> None:
    pq.write_table(_table(), tmp_path / "part.parquet")
    dataset = pads.dataset(tmp_path / "part.parquet")
    expression = parse_row_filter("user_id = 123 OR country = 'it''s'").to_arrow_expression()
    assert dataset.count_rows(filter=expression) == 3


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1=1; DROP TABLE users", "unexpected character ';' at position 4"),
        ("user_id = 1; DROP TABLE users", "unexpected character ';' at position 12"),
        ("1 = 1", "expected a column name"),
        ("country = 'abc", "unterminated string at position 11"),
        ('"country = 1', "unterminated quoted column name at position 1"),
        ("user_id =", "found the end at position 10"),
        ("user_id = 1 user_id = 2", "expected AND, OR or the end"),
        ("user_id IN ()", "expected a number"),
        ("user_id IN (1, 2", "expected ',' or ')'"),
        ("user_id IS 1", "expected NULL"),
        ("(user_id = 1", "expected ')'"),
        ("user_id = 1)", "expected AND, OR or the end"),
        ("in = 1", "expected a column name"),
        ("user_id LIKE 'a%'", "expected a comparison, IN or IS"),
        ("user_id = - 'a'", "expected a number"),
        ('"" = 1', "empty column name"),
        ("user_id = @x", "unexpected character '@'"),
        ("", "expected a column name"),
        ("a = 1 --comment", "expected AND, OR or the end of the filter, found '-' at position 7"),
        ("a = 1 /* x */", "unexpected character '/'"),
    ],
)
def test_hostile_and_broken_input_points_at_the_position(text: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_row_filter(text)
    assert fragment in caught.value.message


def test_nesting_is_bounded() -> None:
    deep = "(" * (MAX_DEPTH - 1) + "a = 1" + ")" * (MAX_DEPTH - 1)
    assert parse_row_filter(deep).columns == {"a"}
    with pytest.raises(InvalidArgument, match="deeper than 100"):
        parse_row_filter("(" * 1000 + "a = 1" + ")" * 1000)
    with pytest.raises(InvalidArgument, match="deeper than 100"):
        parse_row_filter("NOT " * 1000 + "a = 1")
    with pytest.raises(InvalidArgument, match="limit"):
        parse_row_filter("a = 1 OR " * 2000 + "a = 1")


def test_schema_checks_columns_and_literal_types() -> None:
    schema = _table().schema
    for text, fragment in [
        ("nope = 1", "'nope', which is not in the data"),
        ("user_id = '1'", "does not fit column 'user_id'"),
        ("country IN ('DE', 1)", "does not fit column 'country'"),
        ("active = 1", "does not fit column 'active'"),
        ("day = 'soon'", "'soon' is not a date32"),
        ("nope IS NULL", "not in the data"),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            parse_row_filter(text).to_arrow_expression(schema)
        assert fragment in caught.value.message
