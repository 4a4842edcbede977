"""Tests of the search filter / order_by grammar in cairn.store.search."""

from __future__ import annotations

import math
import re
from typing import Protocol, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.errors import InvalidArgument
from cairn.store.search import (
    EXPERIMENT_SEARCH,
    MAX_FILTER_CLAUSES,
    MAX_FILTER_LENGTH,
    RUN_SEARCH,
    Comparison,
    Entity,
    EntityRule,
    FieldRule,
    Key,
    OrderKey,
    SearchSchema,
    SearchSyntaxError,
    ValueType,
    parse_filter,
    parse_order_by,
)


def attr(name: str) -> Key:
    return Key(Entity.ATTRIBUTE, name)


def metric(name: str) -> Key:
    return Key(Entity.METRIC, name)


def param(name: str) -> Key:
    return Key(Entity.PARAM, name)


def tag(name: str) -> Key:
    return Key(Entity.TAG, name)


def dataset(name: str) -> Key:
    return Key(Entity.DATASET, name)


C = Comparison
RUNS, EXPS = RUN_SEARCH, EXPERIMENT_SEARCH

VALID_FILTERS: list[tuple[str, SearchSchema, list[Comparison]]] = [
    ("metrics.acc > 0.9", RUNS, [C(metric("acc"), ">", 0.9)]),
    ("metric.acc >= 1", RUNS, [C(metric("acc"), ">=", 1.0)]),
    ("metrics.loss < -1.5e-3", RUNS, [C(metric("loss"), "<", -0.0015)]),
    ("metrics.loss <= .5", RUNS, [C(metric("loss"), "<=", 0.5)]),
    ("metrics.loss != 3E+2", RUNS, [C(metric("loss"), "!=", 300.0)]),
    ("metrics.`my metric` = 2", RUNS, [C(metric("my metric"), "=", 2.0)]),
    ('metrics."train/loss" > 0', RUNS, [C(metric("train/loss"), ">", 0.0)]),
    ("METRICS.acc > 1", RUNS, [C(metric("acc"), ">", 1.0)]),
    ("params.model = 'rf'", RUNS, [C(param("model"), "=", "rf")]),
    ('parameter.model = "rf"', RUNS, [C(param("model"), "=", "rf")]),
    ("parameters.lr != '0.1'", RUNS, [C(param("lr"), "!=", "0.1")]),
    ("param.a LIKE 'x%'", RUNS, [C(param("a"), "LIKE", "x%")]),
    ("params.a ilike '%X_'", RUNS, [C(param("a"), "ILIKE", "%X_")]),
    ("params.`lr.decay` = '1'", RUNS, [C(param("lr.decay"), "=", "1")]),
    ("params.1st = 'x'", RUNS, [C(param("1st"), "=", "x")]),
    ("params.a IS NULL", RUNS, [C(param("a"), "IS NULL", None)]),
    # A Cairn extension: runs that never logged a metric.
    ("metrics.a IS NULL", RUNS, [C(metric("a"), "IS NULL", None)]),
    ("params.a is  not\tnull", RUNS, [C(param("a"), "IS NOT NULL", None)]),
    ("params.a IN ('x', \"y\")", RUNS, [C(param("a"), "IN", ("x", "y"))]),
    ("params.a not in ('x')", RUNS, [C(param("a"), "NOT IN", ("x",))]),
    ("tags.mlflow.runName = 'r'", RUNS, [C(tag("mlflow.runName"), "=", "r")]),
    ("tag.note = 'it''s'", RUNS, [C(tag("note"), "=", "it's")]),
    ('tags.note = "say ""hi"""', RUNS, [C(tag("note"), "=", 'say "hi"')]),
    (r"tags.path = 'C:\dir\'", RUNS, [C(tag("path"), "=", "C:\\dir\\")]),
    ("tags.\"my tag\" = ''", RUNS, [C(tag("my tag"), "=", "")]),
    ("tags.`a``b` = 'x'", RUNS, [C(tag("a`b"), "=", "x")]),
    ("status = 'running'", RUNS, [C(attr("status"), "=", "running")]),
    ("attributes.status = 'FINISHED'", RUNS, [C(attr("status"), "=", "FINISHED")]),
    ("attr.run_id IN ('a1', 'b2')", RUNS, [C(attr("run_id"), "IN", ("a1", "b2"))]),
    ("run.user_id LIKE 'al%'", RUNS, [C(attr("user_id"), "LIKE", "al%")]),
    ("artifact_uri != 's3://b/x'", RUNS, [C(attr("artifact_uri"), "!=", "s3://b/x")]),
    ("run_name NOT IN ('a')", RUNS, [C(attr("run_name"), "NOT IN", ("a",))]),
    ("\"run name\" = 'x'", RUNS, [C(attr("run_name"), "=", "x")]),
    ("`Run name` = 'x'", RUNS, [C(attr("run_name"), "=", "x")]),
    ("attributes.\"Run Name\" ILIKE 'x'", RUNS, [C(attr("run_name"), "ILIKE", "x")]),
    ("`run_id` = 'x'", RUNS, [C(attr("run_id"), "=", "x")]),
    ("`attributes`.status = 'x'", RUNS, [C(attr("status"), "=", "x")]),
    ("created >= 1700000000000", RUNS, [C(attr("start_time"), ">=", 1700000000000)]),
    ("attributes.Created < 5", RUNS, [C(attr("start_time"), "<", 5)]),
    ("end_time = -1", RUNS, [C(attr("end_time"), "=", -1)]),
    ("datasets.name = 'iris'", RUNS, [C(dataset("name"), "=", "iris")]),
    ("dataset.digest IN ('abc')", RUNS, [C(dataset("digest"), "IN", ("abc",))]),
    ("datasets.context LIKE 'tr%'", RUNS, [C(dataset("context"), "LIKE", "tr%")]),
    (
        "  metrics.a>1  and\nparams.b='c'  ",
        RUNS,
        [C(metric("a"), ">", 1.0), C(param("b"), "=", "c")],
    ),
    (
        "metrics.acc > 0.9 AND params.model = 'rf' AND tags.team ILIKE '%nlp%' AND "
        "attributes.status = 'FINISHED' AND datasets.context IN ('train','eval') AND "
        "attributes.run_id IN ('a1','b2') AND tags.note IS NULL",
        RUNS,
        [
            C(metric("acc"), ">", 0.9),
            C(param("model"), "=", "rf"),
            C(tag("team"), "ILIKE", "%nlp%"),
            C(attr("status"), "=", "FINISHED"),
            C(dataset("context"), "IN", ("train", "eval")),
            C(attr("run_id"), "IN", ("a1", "b2")),
            C(tag("note"), "IS NULL", None),
        ],
    ),
    ("name = 'exp'", EXPS, [C(attr("name"), "=", "exp")]),
    ("attributes.name LIKE 'a%'", EXPS, [C(attr("name"), "LIKE", "a%")]),
    ("experiment_id IN ('1', '2')", EXPS, [C(attr("experiment_id"), "IN", ("1", "2"))]),
    (
        "creation_time > 5 AND last_update_time <= 7",
        EXPS,
        [C(attr("creation_time"), ">", 5), C(attr("last_update_time"), "<=", 7)],
    ),
    (
        "tags.team = 'nlp' AND tags.t IS NOT NULL",
        EXPS,
        [C(tag("team"), "=", "nlp"), C(tag("t"), "IS NOT NULL", None)],
    ),
]


@pytest.mark.parametrize(
    ("text", "schema", "expected"), VALID_FILTERS, ids=[case[0] for case in VALID_FILTERS]
)
def test_valid_filter_parses_to_expected_ast(
    text: str, schema: SearchSchema, expected: list[Comparison]
) -> None:
    parsed = parse_filter(text, schema)
    assert parsed == expected
    for got, want in zip(parsed, expected, strict=True):
        assert type(got.value) is type(want.value)


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter_is_no_filter(text: str | None) -> None:
    assert parse_filter(text, RUN_SEARCH) == []


SYNTAX = SearchSyntaxError
INVALID_FILTERS: list[tuple[str, SearchSchema, type[InvalidArgument], list[str]]] = [
    ("metrics.a > 1 OR metrics.b > 2", RUNS, SYNTAX, ["position 14", "'OR'", "only AND"]),
    ("metrics.a > 1 AND (params.b = 'x')", RUNS, SYNTAX, ["position 18", "'('", "parentheses"]),
    ("NOT params.a = 'x'", RUNS, SYNTAX, ["position 0", "'NOT'"]),
    ("params.a NOT LIKE 'x'", RUNS, SYNTAX, ["position 13", "'LIKE'", "NOT IN"]),
    ("metrics.a > 1; DROP TABLE runs", RUNS, SYNTAX, ["position 13", "';'"]),
    ("metrics.a > 1 params.b = 'x'", RUNS, SYNTAX, ["position 14", "'params.b'", "expected AND"]),
    ("metrics.a > 1 AND", RUNS, SYNTAX, ["position 17", "end of input"]),
    ("AND metrics.a > 1", RUNS, SYNTAX, ["position 0", "'AND'"]),
    ("metrics.a", RUNS, SYNTAX, ["position 9", "end of input", "comparator"]),
    ("metrics.a >", RUNS, SYNTAX, ["position 11", "end of input", "value"]),
    ("metrics.a == 1", RUNS, SYNTAX, ["position 11", "'='"]),
    ("metrics.a ! 1", RUNS, SYNTAX, ["position 10", "'!"]),
    ("metrics.a > 1 $", RUNS, SYNTAX, ["position 14", "'$'"]),
    ("params.a = 'open", RUNS, SYNTAX, ["position 11", "unterminated string"]),
    ("params.`a = 'x'", RUNS, SYNTAX, ["position 7", "unterminated quoted name"]),
    ("params.a IN ()", RUNS, SYNTAX, ["position 13", "empty"]),
    ("params.a IN 'x'", RUNS, SYNTAX, ["position 12", "\"'x'\"", "'('"]),
    ("params.a IN ('x' 'y')", RUNS, SYNTAX, ["position 17", "\"'y'\""]),
    ("params.a IN ('x',)", RUNS, SYNTAX, ["position 17", "')'"]),
    ("params.a IS 'x'", RUNS, SYNTAX, ["position 12", "IS NULL"]),
    ("params.a IS NOT 'x'", RUNS, SYNTAX, ["position 16", "IS NOT NULL"]),
    ("metrics.a > 1.2.3", RUNS, SYNTAX, ["position 12", "malformed number"]),
    ("metrics.a > 1e", RUNS, SYNTAX, ["position 12", "exponent"]),
    ("'status' = 'x'", RUNS, SYNTAX, ["position 0", "\"'status'\"", "backticks"]),
    ("metrics. = 1", RUNS, SYNTAX, ["position 8", "name part"]),
    ("metrics.`` > 1", RUNS, SYNTAX, ["position 0", "empty"]),
    ("metrics.a > nan", RUNS, InvalidArgument, ["position 12", "metric 'a' needs a number", "nan"]),
    ("metrics.acc = 'x'", RUNS, InvalidArgument, ["metric 'acc' needs a number"]),
    ("params.lr = 0.1", RUNS, InvalidArgument, ["param 'lr' needs a quoted string", "0.1"]),
    ("params.lr = rf", RUNS, InvalidArgument, ["param 'lr' needs a quoted string", "rf"]),
    ("params.lr = `rf`", RUNS, InvalidArgument, ["param 'lr' needs a quoted string"]),
    ("tags.t = NULL", RUNS, InvalidArgument, ["tag 't'", "IS NULL"]),
    ("foo = 'x'", RUNS, InvalidArgument, ["unknown attribute 'foo'", "run_id", "start_time"]),
    ("attributes.bogus = 'x'", RUNS, InvalidArgument, ["unknown attribute 'bogus'"]),
    ("datasets.size = 'x'", RUNS, InvalidArgument, ["unknown dataset field 'size'", "context, digest, name"]),
    ("bogus.a = 'x'", RUNS, InvalidArgument, ["unknown prefix 'bogus'", "metrics"]),
    ("metrics.a LIKE 'x'", RUNS, InvalidArgument, ["LIKE is not allowed on metric 'a'", "<="]),
    ("metrics.a IN ('1')", RUNS, InvalidArgument, ["IN is not allowed on metric 'a'"]),
    ("params.a > 'x'", RUNS, InvalidArgument, ["> is not allowed on param 'a'", "NOT IN"]),
    ("status > 'x'", RUNS, InvalidArgument, ["> is not allowed on attribute 'status'"]),
    ("status IS NULL", RUNS, InvalidArgument, ["IS NULL is not allowed on attribute 'status'"]),
    ("start_time LIKE '1'", RUNS, InvalidArgument, ["LIKE is not allowed on attribute 'start_time'"]),
    ("start_time > 1.5", RUNS, InvalidArgument, ["attribute 'start_time' needs an integer", "1.5"]),
    ("start_time > 1e3", RUNS, InvalidArgument, ["attribute 'start_time' needs an integer"]),
    ("start_time > 99999999999999999999", RUNS, InvalidArgument, ["start_time", "out of range"]),
    ("end_time > 9223372036854775808", RUNS, InvalidArgument, ["end_time", "out of range"]),
    ("start_time = '5'", RUNS, InvalidArgument, ["attribute 'start_time' needs an integer"]),
    ("run_id = 5", RUNS, InvalidArgument, ["attribute 'run_id' needs a quoted string"]),
    (
        "run_id IN ('a', 2)",
        RUNS,
        InvalidArgument,
        ["position 16", "attribute 'run_id' IN list needs quoted strings"],
    ),
    ("params.a = 'x\x00'", RUNS, InvalidArgument, ["NUL"]),
    ("metrics.a > 1", EXPS, InvalidArgument, ["metrics cannot be used when searching experiments", "tags"]),
    ("params.a = 'x'", EXPS, InvalidArgument, ["params cannot be used when searching experiments"]),
    ("datasets.name = 'x'", EXPS, InvalidArgument, ["datasets cannot be used when searching experiments"]),
    ("run_id = 'x'", EXPS, InvalidArgument, ["unknown attribute 'run_id' for experiments", "experiment_id"]),
    ("creation_time LIKE '1'", EXPS, InvalidArgument, ["not allowed on attribute 'creation_time'"]),
]


@pytest.mark.parametrize(
    ("text", "schema", "error", "fragments"), INVALID_FILTERS, ids=[case[0] for case in INVALID_FILTERS]
)
def test_invalid_filter_error_names_the_problem(
    text: str, schema: SearchSchema, error: type[InvalidArgument], fragments: list[str]
) -> None:
    with pytest.raises(error) as caught:
        parse_filter(text, schema)
    assert str(caught.value).startswith("Invalid filter")
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_syntax_error_carries_position_and_token() -> None:
    with pytest.raises(SearchSyntaxError) as caught:
        parse_filter("params.a = 'x' AND tags.b = 'y' OR z", RUN_SEARCH)
    assert caught.value.position == 32
    assert caught.value.near == "OR"
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert caught.value.message == "Invalid filter at position 32 near 'OR': only AND may join clauses"


def test_filter_length_limit() -> None:
    head = "params.a = '"
    fits = head + "x" * (MAX_FILTER_LENGTH - len(head) - 1) + "'"
    assert len(fits) == MAX_FILTER_LENGTH
    assert parse_filter(fits, RUN_SEARCH)[0].value == "x" * (MAX_FILTER_LENGTH - len(head) - 1)
    with pytest.raises(InvalidArgument, match=str(MAX_FILTER_LENGTH)):
        parse_filter(fits + " ", RUN_SEARCH)


def test_clause_count_limit() -> None:
    clauses = [f"metrics.m{i} > {i}" for i in range(MAX_FILTER_CLAUSES + 1)]
    assert len(parse_filter(" AND ".join(clauses[:-1]), RUN_SEARCH)) == MAX_FILTER_CLAUSES
    with pytest.raises(InvalidArgument, match=f"at most {MAX_FILTER_CLAUSES} clauses"):
        parse_filter(" AND ".join(clauses), RUN_SEARCH)


VALID_ORDER_BY: list[tuple[list[str] | None, SearchSchema, list[OrderKey]]] = [
    (None, RUNS, []),
    ([], RUNS, []),
    (["metrics.rmse"], RUNS, [OrderKey(metric("rmse"), True)]),
    (["metrics.rmse ASC"], RUNS, [OrderKey(metric("rmse"), True)]),
    (["metrics.rmse desc"], RUNS, [OrderKey(metric("rmse"), False)]),
    (["params.`alpha` DESC"], RUNS, [OrderKey(param("alpha"), False)]),
    (["attributes.start_time DESC"], RUNS, [OrderKey(attr("start_time"), False)]),
    (["tags.mlflow.runName"], RUNS, [OrderKey(tag("mlflow.runName"), True)]),
    (
        ["created", '"Run Name" Desc'],
        RUNS,
        [OrderKey(attr("start_time"), True), OrderKey(attr("run_name"), False)],
    ),
    (["  status   asc  "], RUNS, [OrderKey(attr("status"), True)]),
    (
        ["end_time", "run_id", "user_id", "artifact_uri"],
        RUNS,
        [
            OrderKey(attr("end_time"), True),
            OrderKey(attr("run_id"), True),
            OrderKey(attr("user_id"), True),
            OrderKey(attr("artifact_uri"), True),
        ],
    ),
    (
        ["name", "creation_time DESC"],
        EXPS,
        [OrderKey(attr("name"), True), OrderKey(attr("creation_time"), False)],
    ),
    (
        ["experiment_id asc", "last_update_time"],
        EXPS,
        [
            OrderKey(attr("experiment_id"), True),
            OrderKey(attr("last_update_time"), True),
        ],
    ),
]


@pytest.mark.parametrize(
    ("order_by", "schema", "expected"), VALID_ORDER_BY, ids=[repr(c[0]) for c in VALID_ORDER_BY]
)
def test_valid_order_by(order_by: list[str] | None, schema: SearchSchema, expected: list[OrderKey]) -> None:
    assert parse_order_by(order_by, schema) == expected


INVALID_ORDER_BY: list[tuple[list[str], SearchSchema, type[InvalidArgument], list[str]]] = [
    (["metrics.a DESC x"], RUNS, SYNTAX, ["'metrics.a DESC x'", "position 15", "'x'"]),
    (["metrics.a ASCENDING"], RUNS, SYNTAX, ["'metrics.a ASCENDING'", "position 10", "'ASCENDING'"]),
    (["metrics.a > 1"], RUNS, SYNTAX, ["'metrics.a > 1'", "'>'"]),
    (["metrics.a,metrics.b"], RUNS, SYNTAX, ["'metrics.a,metrics.b'", "','"]),
    ([""], RUNS, SYNTAX, ["order_by ''", "end of input"]),
    (["metrics.a", "DESC"], RUNS, SYNTAX, ["order_by 'DESC'", "position 0", "expected a name before DESC"]),
    (["foo"], RUNS, InvalidArgument, ["order_by 'foo'", "unknown attribute 'foo'", "run_name"]),
    (["datasets.name"], RUNS, InvalidArgument, ["dataset field 'name' cannot be used in order_by"]),
    (["tags.a"], EXPS, InvalidArgument, ["tag 'a' cannot be used in order_by"]),
    (["metrics.a"], EXPS, InvalidArgument, ["metrics cannot be used when searching experiments"]),
    (["run_id DESC"], EXPS, InvalidArgument, ["unknown attribute 'run_id'", "creation_time"]),
]


@pytest.mark.parametrize(
    ("order_by", "schema", "error", "fragments"), INVALID_ORDER_BY, ids=[repr(c[0]) for c in INVALID_ORDER_BY]
)
def test_invalid_order_by(
    order_by: list[str], schema: SearchSchema, error: type[InvalidArgument], fragments: list[str]
) -> None:
    with pytest.raises(error) as caught:
        parse_order_by(order_by, schema)
    assert str(caught.value).startswith("Invalid order_by")
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_order_by_rejects_a_bare_string() -> None:
    with pytest.raises(InvalidArgument, match="list of strings"):
        parse_order_by("metrics.a DESC", RUN_SEARCH)


MODEL_SEARCH = SearchSchema(
    subject="registered models",
    entities={
        Entity.ATTRIBUTE: EntityRule(
            fields={
                "name": FieldRule(ValueType.STRING, frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})),
                "creation_timestamp": FieldRule(ValueType.INTEGER, frozenset()),
            },
            aliases={"timestamp": "creation_timestamp"},
        ),
        Entity.TAG: EntityRule(any_key=FieldRule(ValueType.STRING, frozenset({"=", "!=", "LIKE", "ILIKE"}))),
    },
)


def test_a_new_schema_needs_no_parser_change() -> None:
    assert parse_filter("name IN ('a') AND tags.t LIKE 'x%'", MODEL_SEARCH) == [
        C(attr("name"), "IN", ("a",)),
        C(tag("t"), "LIKE", "x%"),
    ]
    assert parse_order_by(["timestamp DESC"], MODEL_SEARCH) == [OrderKey(attr("creation_timestamp"), False)]
    with pytest.raises(InvalidArgument, match="IS NULL is not allowed on tag 't'"):
        parse_filter("tags.t IS NULL", MODEL_SEARCH)
    with pytest.raises(InvalidArgument, match="attribute 'creation_timestamp' cannot be used in a filter"):
        parse_filter("timestamp > 5", MODEL_SEARCH)
    with pytest.raises(InvalidArgument, match="metrics cannot be used when searching registered models"):
        parse_filter("metrics.a > 5", MODEL_SEARCH)


@pytest.mark.parametrize(
    ("value_type", "comparators", "problem"),
    [
        (ValueType.FLOAT, {"LIKE"}, "need a string field"),
        (ValueType.INTEGER, {"IN"}, "need a string field"),
        (ValueType.STRING, {"<"}, "string fields cannot"),
        (ValueType.STRING, {"~"}, "unknown comparators"),
    ],
)
def test_field_rule_rejects_inconsistent_comparators(
    value_type: ValueType, comparators: set[str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        FieldRule(value_type, frozenset(comparators))


def test_entity_rule_rejects_dangling_alias_and_is_read_only() -> None:
    with pytest.raises(ValueError, match="unknown fields"):
        EntityRule(aliases={"created": "start_time"})
    with pytest.raises(TypeError):
        RUN_SEARCH.entities[Entity.METRIC] = EntityRule()  # type: ignore[index]


# --- properties ---------------------------------------------------------------------------

T = TypeVar("T")


class Draw(Protocol):
    def __call__(self, strategy: st.SearchStrategy[T]) -> T: ...


_BARE_PART = re.compile(r"[A-Za-z0-9_]+")
_BARE_FIRST = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL"}
_PREFIXES = {
    Entity.ATTRIBUTE: ["attribute", "attributes", "attr", "run", "Attributes"],
    Entity.METRIC: ["metric", "metrics", "METRICS"],
    Entity.PARAM: ["parameter", "parameters", "param", "params", "Params"],
    Entity.TAG: ["tag", "tags", "TAG"],
    Entity.DATASET: ["dataset", "datasets"],
}
_ALIASES = {
    "start_time": ["start_time", "created", "Created"],
    "run_name": ["run_name", "run name", "Run Name"],
}
_TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12)
_KEY_TEXT = st.one_of(
    _TEXT.filter(bool), st.sampled_from(["acc", "mlflow.runName", "lr.decay", "a b", "x`y", 'q"r', "1st"])
)


def _quote(text: str, mark: str) -> str:
    return mark + text.replace(mark, mark * 2) + mark


def _render_name(draw: Draw, name: str, prefixed: bool) -> str:
    pieces = name.split(".")
    bare_ok = all(_BARE_PART.fullmatch(piece) for piece in pieces)
    if not prefixed:
        bare_ok = bool(_BARE_FIRST.fullmatch(name)) and name.upper() not in _KEYWORDS
    styles = ["`", '"'] + (["bare"] if bare_ok else [])
    style = draw(st.sampled_from(styles))
    return name if style == "bare" else _quote(name, style)


def _render_key(draw: Draw, key: Key) -> str:
    name = key.name
    if key.entity is Entity.ATTRIBUTE:
        name = draw(st.sampled_from(_ALIASES.get(name, [name])))
        prefix = draw(st.sampled_from(["", *_PREFIXES[Entity.ATTRIBUTE]]))
    else:
        prefix = draw(st.sampled_from(_PREFIXES[key.entity]))
    if not prefix:
        return _render_name(draw, name, prefixed=False)
    return prefix + "." + _render_name(draw, name, prefixed=True)


def _render_value(draw: Draw, value: object) -> str:
    if isinstance(value, tuple):
        sep = draw(st.sampled_from([",", ", ", " , "]))
        return "(" + sep.join(_render_value(draw, item) for item in value) + ")"
    if isinstance(value, str):
        return _quote(value, draw(st.sampled_from(["'", '"'])))
    return repr(value)


def _render(draw: Draw, comparisons: list[Comparison]) -> str:
    clauses = []
    for comparison in comparisons:
        op = comparison.op.lower() if draw(st.booleans()) else comparison.op
        space = draw(st.sampled_from([" ", "  ", "\n"]))
        key = _render_key(draw, comparison.key)
        if comparison.value is None:
            clauses.append(f"{key}{space}{op.replace(' ', space)}")
        else:
            clauses.append(f"{key}{space}{op}{space}{_render_value(draw, comparison.value)}")
    joiner = draw(st.sampled_from([" AND ", " and ", "\tAnd  "]))
    return joiner.join(clauses)


_STRINGS_1_4 = st.lists(_TEXT, min_size=1, max_size=4).map(tuple)
_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
_STRING_OPS = st.sampled_from(["=", "!=", "LIKE", "ILIKE"])
_NUMERIC_OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
_LIST_OPS = st.sampled_from(["IN", "NOT IN"])


def _string_comparison(key: Key, with_null: bool) -> st.SearchStrategy[Comparison]:
    options = [
        st.builds(Comparison, st.just(key), _STRING_OPS, _TEXT),
        st.builds(Comparison, st.just(key), _LIST_OPS, _STRINGS_1_4),
    ]
    if with_null:
        options.append(
            st.builds(Comparison, st.just(key), st.sampled_from(["IS NULL", "IS NOT NULL"]), st.none())
        )
    return st.one_of(options)


_RUN_COMPARISONS = st.one_of(
    _KEY_TEXT.flatmap(lambda k: st.builds(Comparison, st.just(metric(k)), _NUMERIC_OPS, _FLOATS)),
    _KEY_TEXT.flatmap(lambda k: _string_comparison(param(k), with_null=True)),
    _KEY_TEXT.flatmap(lambda k: _string_comparison(tag(k), with_null=True)),
    st.sampled_from(["run_id", "run_name", "user_id", "status", "artifact_uri"]).flatmap(
        lambda n: _string_comparison(attr(n), with_null=False)
    ),
    st.sampled_from(["start_time", "end_time"]).flatmap(
        lambda n: st.builds(Comparison, st.just(attr(n)), _NUMERIC_OPS, _INT64)
    ),
    st.sampled_from(["name", "digest", "context"]).flatmap(
        lambda n: _string_comparison(dataset(n), with_null=False)
    ),
)


@settings(max_examples=150, derandomize=True, database=None)
@given(st.data(), st.lists(_RUN_COMPARISONS, min_size=1, max_size=6))
def test_rendered_ast_parses_back(data: st.DataObject, comparisons: list[Comparison]) -> None:
    text = _render(data.draw, comparisons)
    parsed = parse_filter(text, RUN_SEARCH)
    assert parsed == comparisons
    for got, want in zip(parsed, comparisons, strict=True):
        assert type(got.value) is type(want.value)
        if isinstance(want.value, float):
            assert math.copysign(1.0, got.value) == math.copysign(1.0, want.value)  # type: ignore[arg-type]


_FRAGMENTS = st.sampled_from(
    [
        *(
            "metrics.a",
            "params.`x`",
            'tags."y"',
            "status",
            "created",
            "tags.mlflow.x",
            "datasets.name",
            "name",
        ),
        *("'s'", '"d"', "''", "1", "-2.5e3", ".5", "1e", "99999999999999999999999", "nan"),
        *("AND", "or", "IN", "not", "IS", "NULL", "LIKE", "ilike", "ASC", "desc"),
        *("(", ")", ",", "=", "!=", "<", ">=", "<>", ";", "`", "'", '"', ".", "-", "!", "\x00", "é"),
    ]
)
_SOUP = st.lists(st.tuples(_FRAGMENTS, st.sampled_from(["", " "])), max_size=12).map(
    lambda pairs: "".join(a + b for a, b in pairs)
)
_ANY_TEXT = st.one_of(st.text(max_size=80), _SOUP)


def _only_invalid_argument(call: object) -> None:
    assert callable(call)
    try:
        call()
    except SearchSyntaxError as error:
        assert isinstance(error, InvalidArgument)
        assert error.message.startswith("Invalid ")
    except InvalidArgument as error:
        assert error.message.startswith("Invalid ")


@settings(max_examples=400, derandomize=True, database=None)
@given(_ANY_TEXT, st.sampled_from([RUN_SEARCH, EXPERIMENT_SEARCH]))
def test_random_filter_text_raises_only_invalid_argument(text: str, schema: SearchSchema) -> None:
    _only_invalid_argument(lambda: parse_filter(text, schema))


@settings(max_examples=200, derandomize=True, database=None)
@given(st.lists(_ANY_TEXT, max_size=3), st.sampled_from([RUN_SEARCH, EXPERIMENT_SEARCH]))
def test_random_order_by_text_raises_only_invalid_argument(clauses: list[str], schema: SearchSchema) -> None:
    _only_invalid_argument(lambda: parse_order_by(clauses, schema))


@settings(max_examples=200, derandomize=True, database=None)
@given(_SOUP)
def test_syntax_error_position_lies_within_the_text(text: str) -> None:
    try:
        parse_filter(text, RUN_SEARCH)
    except SearchSyntaxError as error:
        assert 0 <= error.position <= len(text)
        if error.near is not None:
            assert text[error.position :].startswith(error.near[:1])
    except InvalidArgument:
        pass
