"""Parsing MLflow-style request fields: spellings, aliases, types, enums, nested messages, query strings."""

from __future__ import annotations

import math
from typing import Any

import pytest
from starlette.datastructures import QueryParams

from cairn.entities import Metric
from cairn.errors import InvalidArgument
from cairn.server.mlflow.proto_json import metric_json
from cairn.server.mlflow.requests import (
    boolean,
    camel_case,
    enum,
    integer,
    messages,
    number,
    parse_fields,
    query_fields,
    string,
    strings,
)
from cairn.store.wire_format import float_to_json as number_json

SPEC = (
    string("run_id", required=True, alias="run_uuid"),
    integer("max_results"),
    number("value"),
    boolean("archive_existing_versions"),
    enum("run_view_type", ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]),
    strings("order_by"),
    messages(
        "metrics", string("key", required=True), integer("timestamp", required=True), string("dataset_name")
    ),
)


def parse(raw: dict[str, Any]) -> dict[str, Any]:
    return parse_fields(raw, SPEC)


def test_camel_case_spelling() -> None:
    assert camel_case("run_view_type") == "runViewType"
    assert camel_case("key") == "key"
    assert parse({"runId": "r", "maxResults": 5, "runViewType": "ALL"}) == {
        "run_id": "r",
        "max_results": 5,
        "run_view_type": "ALL",
    }


def test_both_spellings_are_refused_even_nested() -> None:
    with pytest.raises(InvalidArgument, match="Both 'max_results' and 'maxResults'"):
        parse({"run_id": "r", "max_results": 1, "maxResults": 1})
    with pytest.raises(
        InvalidArgument, match="Both 'metrics\\[1\\].dataset_name' and 'metrics\\[1\\].datasetName'"
    ):
        parse(
            {
                "run_id": "r",
                "metrics": [
                    {"key": "k", "timestamp": 1, "datasetName": "d"},
                    {"key": "k", "timestamp": 1, "dataset_name": "d", "datasetName": "d"},
                ],
            }
        )


def test_alias_fills_in_and_must_agree() -> None:
    assert parse({"run_uuid": "r"}) == {"run_id": "r"}
    assert parse({"run_id": "r", "run_uuid": "r"}) == {"run_id": "r"}
    assert parse({"run_id": "", "runUuid": "r"}) == {"run_id": "r"}
    with pytest.raises(InvalidArgument, match="'run_id' \\(a\\) and 'run_uuid' \\(b\\) differ"):
        parse({"run_id": "a", "run_uuid": "b"})


@pytest.mark.parametrize("raw", [{}, {"run_id": None}, {"run_id": ""}])
def test_missing_required(raw: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument, match="^Missing value for required parameter 'run_id'$"):
        parse(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"max_results": "12"}, {"max_results": 12}),
        ({"max_results": 3.0}, {"max_results": 3}),
        ({"value": "NaN"}, {"value": "nan"}),
        ({"value": "Infinity"}, {"value": math.inf}),
        ({"value": "-Infinity"}, {"value": -math.inf}),
        ({"value": 2}, {"value": 2.0}),
        ({"archive_existing_versions": "True"}, {"archive_existing_versions": True}),
        ({"archive_existing_versions": "false"}, {"archive_existing_versions": False}),
        ({"run_view_type": 2}, {"run_view_type": "DELETED_ONLY"}),
        ({"run_view_type": "3"}, {"run_view_type": "ALL"}),
        ({"run_view_type": "active_only"}, {"run_view_type": "ACTIVE_ONLY"}),
        ({"order_by": ["a", "b"]}, {"order_by": ["a", "b"]}),
        ({"unknown_field": 1}, {}),
    ],
)
def test_conversions(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    parsed = parse({"run_id": "r", **raw})
    parsed.pop("run_id")
    if expected.get("value") == "nan":
        assert math.isnan(parsed["value"])
    else:
        assert parsed == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"run_id": 123}, "Invalid value 123 for parameter 'run_id' supplied: expected a string"),
        ({"max_results": "ten"}, "Invalid value ten for parameter 'max_results' supplied"),
        ({"max_results": 2.5}, "parameter 'max_results'"),
        ({"max_results": True}, "parameter 'max_results'"),
        ({"max_results": 2**64}, "64-bit"),
        ({"value": "lots"}, "parameter 'value'"),
        ({"value": [1]}, "Invalid value [1] for parameter 'value'"),
        ({"value": 10**400}, "double range"),
        ({"archive_existing_versions": "yes"}, "expected true or false"),
        ({"run_view_type": "SOME"}, "expected one of ACTIVE_ONLY, DELETED_ONLY, ALL"),
        ({"run_view_type": 4}, "parameter 'run_view_type'"),
        ({"order_by": "a"}, "parameter 'order_by' supplied: expected a list"),
        ({"order_by": ["a", 1]}, "parameter 'order_by[1]'"),
        ({"metrics": [{"key": "k"}]}, "Missing value for required parameter 'metrics[0].timestamp'"),
        ({"metrics": ["k"]}, "parameter 'metrics[0]' supplied: expected a JSON object"),
        ({"metrics": [{"key": 1, "timestamp": 1}]}, "parameter 'metrics[0].key'"),
    ],
)
def test_invalid_values_name_the_field(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse({"run_id": "r", **raw})
    assert message in caught.value.message
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse({"run_id": "r", "max_results": "x" * 5000})
    assert len(caught.value.message) < 300


def test_query_strings_give_lists_for_repeated_fields() -> None:
    params = QueryParams("run_id=r&order_by=a&order_by=b&maxResults=4&run_view_type=ALL&ignored=1")
    raw = query_fields(params, SPEC)
    assert raw == {"run_id": "r", "order_by": ["a", "b"], "maxResults": "4", "run_view_type": "ALL"}
    assert parse_fields(raw, SPEC) == {
        "run_id": "r",
        "order_by": ["a", "b"],
        "max_results": 4,
        "run_view_type": "ALL",
    }
    assert query_fields(QueryParams("run_uuid=r&order_by=x"), SPEC) == {"run_uuid": "r", "order_by": ["x"]}


def test_doubles_follow_protobuf_json() -> None:
    assert number_json(1.5) == 1.5
    assert number_json(math.nan) == "NaN"
    assert number_json(math.inf) == "Infinity"
    assert number_json(-math.inf) == "-Infinity"
    assert metric_json(Metric("k", math.nan, 3, 4), "r") == {
        "key": "k",
        "value": "NaN",
        "timestamp": 3,
        "step": 4,
        "run_id": "r",
    }
