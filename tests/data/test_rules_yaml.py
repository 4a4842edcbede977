from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cairn.data import rules
from cairn.data.rules_yaml import dump_rules, load_rules
from cairn.errors import InvalidArgument, NotFound

EXAMPLE = """\
rules:
  - column_present: {column: age, type: integer}
  - not_null: {column: email, max_share: 0.01}
  - in_range: {column: age, min: 0, max: 130}
  - row_count: {min: 1000}
  - fresh: {column: updated_at, max_age: 7d}
    severity: warning
"""


def test_the_documented_example_loads() -> None:
    assert load_rules(EXAMPLE) == [
        rules.column_present("age", "integer"),
        rules.not_null("email", max_share=0.01),
        rules.in_range("age", 0, 130),
        rules.row_count(min=1000),
        rules.fresh("updated_at", "7d", severity="warning"),
    ]


def test_loads_from_path_and_from_string_path(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert load_rules(path) == load_rules(str(path)) == load_rules(EXAMPLE)
    with pytest.raises(NotFound, match="missing.yml"):
        load_rules(str(tmp_path / "missing.yml"))


def test_round_trip_is_lossless_for_every_yaml_rule() -> None:
    originals = [
        rules.column_present("age", "integer"),
        rules.column_present("ts", "timestamp[us, tz=UTC]", name="ts typed"),
        rules.not_null("email", max_share=0.01),
        rules.unique('x"; DROP TABLE t; --'),
        rules.in_range("age", 0, 130.5, inclusive=False, severity="warning"),
        rules.in_range("day", min=dt.date(2024, 1, 1)),
        rules.in_range(
            "t", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 2, 1, 12, 30, 1, 5, tzinfo=dt.UTC)
        ),
        rules.in_range("s", "2024-01-01", "2024-12-31"),
        rules.in_set("c", ["yes", "no", "null", "1", 1, 2.5, True, dt.date(2024, 1, 2)]),
        rules.matches("email", r"[^@\s]+@[^@\s]+\.\w+", name="email shape"),
        rules.row_count(min=10, max=10_000),
        rules.row_count(max=5),
        rules.fresh("u", dt.timedelta(minutes=90)),
        rules.fresh("u", "2w", now=dt.datetime(2024, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
        rules.fresh("v", "1d", now=dt.datetime(2024, 1, 1, 8)),
    ]
    text = dump_rules(originals)
    loaded = load_rules(text)
    assert loaded == originals
    assert [r.to_dict() for r in loaded] == [r.to_dict() for r in originals]
    assert dump_rules(loaded) == text


def test_dump_leaves_out_defaults() -> None:
    text = dump_rules([rules.not_null("email"), rules.in_range("age", max=5)])
    assert text == "rules:\n- not_null: {column: email}\n- in_range: {column: age, max: 5}\n"


def test_dump_refuses_custom_rules() -> None:
    with pytest.raises(InvalidArgument, match="cannot be written as YAML"):
        dump_rules([rules.custom("c", lambda batch: 0)])


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("rules:\n  - not_nul: {column: a}\n", ["rules[0]", "'not_nul'"]),
        ("rules:\n  - unique: {column: a}\n  - not_null: {column: a, share: 1}\n", ["rules[1]", "'share'"]),
        ("rules:\n  - custom: {name: c}\n", ["rules[0]", "custom", "Python"]),
        ("rules:\n  - in_set: {values: [1]}\n", ["rules[0]", "'column'"]),
        ("rules:\n  - not_null: {column: a, max_share: lots}\n", ["rules[0]", "max_share", "lots"]),
        ("rules:\n  - not_null: {column: a}\n    severity: fatal\n", ["rules[0]", "severity"]),
        ("rules:\n  - not_null: {column: a}\n    unique: {column: a}\n", ["rules[0]", "exactly one"]),
        ("rules:\n  - not_null: [a]\n", ["rules[0]", "mapping"]),
        ("rules:\n  - just text\n", ["rules[0]", "mapping"]),
        ("rules:\n  - matches: {column: a, pattern: '(x'}\n", ["rules[0]", "(x"]),
        ("rules:\n  - fresh: {column: a, max_age: soon}\n", ["rules[0]", "soon"]),
        ("rule:\n  - unique: {column: a}\n", ["'rules'", "rule"]),
        ("rules: {unique: {column: a}}\n", ["list"]),
        ("- unique: {column: a}\n", ["'rules'", "list"]),
        ("rules: [unique: {column: a}\n", ["does not parse"]),
        ("rules:\n  - !!python/object/apply:os.system [echo hi]\n", ["does not parse"]),
    ],
)
def test_strict_errors_name_the_rule_and_key(text: str, fragments: list[str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        load_rules(text)
    for fragment in fragments:
        assert fragment in caught.value.message


def test_empty_rule_list() -> None:
    assert load_rules("rules: []\n") == []
    assert load_rules("rules:\n") == []
