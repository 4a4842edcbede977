"""Decoding scoring requests and encoding predictions, without a server."""

from __future__ import annotations

import datetime
import json
import math

import numpy as np
import pandas as pd
import pytest

from cairn.errors import InvalidArgument
from cairn.serving.codecs import (
    decode_csv,
    decode_json,
    decode_request,
    encode_predictions,
    media_type_of,
    to_json_value,
)


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("text/csv", "text/csv"),
        ("text/csv;charset=UTF-8", "text/csv"),
        ("text/plain", None),
        ("application/x-www-form-urlencoded", None),
        ("", None),
        (None, None),
    ],
)
def test_media_type_of(header: str | None, expected: str | None) -> None:
    assert media_type_of(header) == expected


def test_dataframe_split_keeps_columns_index_and_params() -> None:
    decoded = decode_json(
        body(
            {
                "dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [3, 4.5]], "index": [7, 8]},
                "params": {"threshold": 0.3},
            }
        )
    )
    expected = pd.DataFrame({"a": [1, 3], "b": [2.5, 4.5]}, index=[7, 8])
    pd.testing.assert_frame_equal(decoded.data, expected)
    assert decoded.params == {"threshold": 0.3}


def test_dataframe_split_without_columns_numbers_them() -> None:
    decoded = decode_json(body({"dataframe_split": {"data": [[1, 2]]}}))
    assert list(decoded.data.columns) == [0, 1]
    assert decoded.params is None


def test_dataframe_records() -> None:
    decoded = decode_json(body({"dataframe_records": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}))
    pd.testing.assert_frame_equal(decoded.data, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))


def test_instances_list_becomes_an_array() -> None:
    decoded = decode_json(body({"instances": [[1.0, 2.0], [3.0, 4.0]]}))
    np.testing.assert_array_equal(decoded.data, np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_instances_rows_of_objects_become_named_arrays() -> None:
    decoded = decode_json(body({"instances": [{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3, 4]}]}))
    assert set(decoded.data) == {"a", "b"}
    np.testing.assert_array_equal(decoded.data["a"], np.array([1, 2]))
    np.testing.assert_array_equal(decoded.data["b"], np.array([[1, 2], [3, 4]]))


def test_inputs_columnar_object_becomes_named_arrays() -> None:
    decoded = decode_json(body({"inputs": {"x": [1, 2, 3], "y": ["a", "b", "c"]}}))
    np.testing.assert_array_equal(decoded.data["x"], np.array([1, 2, 3]))
    np.testing.assert_array_equal(decoded.data["y"], np.array(["a", "b", "c"]))


def test_inputs_scalar_passes_through() -> None:
    assert decode_json(body({"inputs": "some text"})).data == "some text"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (body([1, 2]), "must be a JSON object"),
        (body({}), "has no input"),
        (body({"params": {"a": 1}}), "has no input"),
        (body({"instances": [1], "inputs": [1]}), "several inputs (instances, inputs)"),
        (
            body({"dataframe_split": {"data": []}, "dataframe_records": []}),
            "dataframe_split, dataframe_records",
        ),
        (body({"instance": [1]}), "unknown top-level key(s) instance"),
        (body({"inputs": [1], "params": [1]}), "params must be a JSON object"),
        (body({"dataframe_split": [[1, 2]]}), "dataframe_split must be an object"),
        (body({"dataframe_split": {"columns": ["a"]}}), "dataframe_split.data must be a list"),
        (body({"dataframe_split": {"data": [[1]], "colums": ["a"]}}), "unknown key(s) colums"),
        (
            body({"dataframe_split": {"data": [[1]], "columns": "a"}}),
            "dataframe_split.columns must be a list",
        ),
        (body({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2, 3]]}}), "does not form a table"),
        (body({"dataframe_records": {"a": 1}}), "dataframe_records must be a list"),
        (body({"dataframe_records": [{"a": 1}, 5]}), "dataframe_records[1] must be an object"),
        (body({"instances": [[1, 2], [3]]}), "instances is not a rectangular array"),
        (body({"inputs": [{"a": 1}, {"b": 2}]}), "inputs[1] differs from inputs[0]"),
        (body({"inputs": None}), "inputs must be a list, an object or a scalar; got null"),
    ],
)
def test_bad_json_requests_name_the_problem(raw: bytes, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        decode_json(raw)
    assert fragment in caught.value.message


def test_csv_table() -> None:
    frame = decode_csv(b"a,b\n1,x\n2,y\n")
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))


@pytest.mark.parametrize(
    ("raw", "fragment"), [(b"", "CSV request body is empty"), (b'a,b\n1,"x\n', "not a valid CSV table")]
)
def test_bad_csv_names_the_problem(raw: bytes, fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=fragment):
        decode_request(raw, "text/csv")


def test_decode_request_refuses_other_media_types() -> None:
    with pytest.raises(InvalidArgument, match="content type must be one of"):
        decode_request(b"x", "text/plain")


def test_dataframe_predictions_are_records() -> None:
    frame = pd.DataFrame({"label": ["a", "b"], "score": [0.25, math.nan]})
    assert json.loads(encode_predictions(frame)) == {
        "predictions": [{"label": "a", "score": 0.25}, {"label": "b", "score": None}]
    }


def test_arrays_and_series_are_lists() -> None:
    assert json.loads(encode_predictions(np.array([[1, 2], [3, 4]], dtype=np.int32))) == {
        "predictions": [[1, 2], [3, 4]]
    }
    assert json.loads(encode_predictions(pd.Series([1.5, np.inf]))) == {"predictions": [1.5, None]}


def test_json_values_of_assorted_types() -> None:
    when = datetime.datetime(2024, 5, 1, 12, 30)
    value = {
        "numpy": np.float32(0.5),
        "bool": np.bool_(True),
        "dates": np.array(["2024-05-01T12:30", "NaT"], dtype="datetime64[ns]"),
        "timestamp": pd.Timestamp(when),
        "span": np.timedelta64(90, "s"),
        "bytes": b"\x00\x01",
        "missing": pd.NA,
        "tuple": (1, "a"),
        "named": {"arr": np.arange(2)},
    }
    assert to_json_value(value) == {
        "numpy": 0.5,
        "bool": True,
        "dates": ["2024-05-01T12:30:00", None],
        "timestamp": "2024-05-01T12:30:00",
        "span": 90.0,
        "bytes": "AAE=",
        "missing": None,
        "tuple": [1, "a"],
        "named": {"arr": [0, 1]},
    }


def test_unencodable_prediction_names_its_type() -> None:
    with pytest.raises(TypeError, match="builtins.object cannot be written as JSON"):
        encode_predictions([object()])


@pytest.mark.parametrize(
    "split",
    [
        {"columns": ["a", "b"], "data": [[0.5, 1.5], [2.5, -3.0]]},
        {"columns": ["a", "b"], "data": [[0.5, 1.5]], "index": [7]},
        {"data": [[0.5, 1.5, 2.0]]},
        {"columns": ["a", "b"], "data": [[1, 1.5], [2, 2.5]]},  # an int column stays int64
        {"columns": ["a", "b"], "data": [[True, 1.5]]},
        {"columns": ["a", "b"], "data": [[None, 1.5]]},
    ],
)
def test_dataframe_split_builds_the_frame_pandas_builds_from_the_lists(split: dict[str, object]) -> None:
    decoded = decode_request(body({"dataframe_split": split}), "application/json").data
    expected = pd.DataFrame(data=split["data"], columns=split.get("columns"), index=split.get("index"))
    pd.testing.assert_frame_equal(decoded, expected)


@pytest.mark.parametrize(
    "split",
    [
        {"columns": ["a", "b", "c"], "data": [[0.5, 1.5]]},
        {"columns": ["a", "b"], "data": [[0.5, 1.5]], "index": [1, 2]},
    ],
)
def test_a_split_whose_rows_do_not_fit_its_columns_is_refused(split: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument, match="dataframe_split"):
        decode_request(body({"dataframe_split": split}), "application/json")


def test_json_bodies_the_fast_parser_refuses_are_still_read() -> None:
    nan_body = b'{"dataframe_split": {"columns": ["a", "b"], "data": [[NaN, 1.5], [Infinity, 2.5]]}}'
    frame = decode_request(nan_body, "application/json").data
    assert math.isnan(frame["a"][0]) and frame["a"][1] == math.inf
    big = decode_request(b'{"dataframe_records": [{"id": 18446744073709551617}]}', "application/json").data
    assert big["id"].tolist() == [2**64 + 1]  # exact: orjson would have made it a float
    small = decode_request(b'{"dataframe_records": [{"id": -9223372036854775809}]}', "application/json").data
    assert small["id"].tolist() == [-(2**63) - 1]
    fraction = b'{"dataframe_split": {"columns": ["x"], "data": [[0.00012345678901234567890]]}}'
    assert decode_request(fraction, "application/json").data["x"].tolist() == [0.00012345678901234567890]
    utf16 = json.dumps({"dataframe_records": [{"name": "Zoë"}]}).encode("utf-16")
    assert decode_request(utf16, "application/json").data["name"].tolist() == ["Zoë"]


@pytest.mark.parametrize("raw", [b'{"instances": [1, 2', b"\xff\xfe\x00", b'{"a": 1} trailing'])
def test_a_body_that_is_not_json_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidArgument, match="request body is not valid JSON"):
        decode_request(raw, "application/json")


def test_a_float_table_layout_names_its_columns_and_only_strings_are_trusted() -> None:
    def layout_of(split: dict[str, object]) -> object:
        return decode_request(body({"dataframe_split": split}), "application/json").layout

    same = layout_of({"columns": ["a", "b"], "data": [[0.5, 1.5]]})
    assert same == layout_of({"columns": ["a", "b"], "data": [[2.5, 3.5], [4.5, 5.5]], "index": [3, 4]})
    assert same != layout_of({"columns": ["b", "a"], "data": [[0.5, 1.5]]})
    assert layout_of({"data": [[0.5, 1.5]]}) != layout_of({"data": [[0.5, 1.5, 2.5]]})
    assert layout_of({"columns": ["a", "b"], "data": [[1, 1.5]]}) is None  # not all floats: read by pandas
    assert layout_of({"columns": [1, "b"], "data": [[0.5, 1.5]]}) is None  # 1, 1.0 and True look alike
    assert decode_request(body({"instances": [[0.5]]}), "application/json").layout is None


def test_decoded_frames_do_not_share_a_mutable_column_index() -> None:
    request = body({"dataframe_split": {"columns": ["a", "b"], "data": [[0.5, 1.5]]}})
    first = decode_request(request, "application/json").data
    first.columns.name = "renamed by a model"
    second = decode_request(request, "application/json").data
    assert second.columns.name is None
    assert second.columns.tolist() == ["a", "b"]
