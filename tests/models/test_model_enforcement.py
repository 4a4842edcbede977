from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cairn.errors import InvalidArgument
from cairn.models import ColumnSpec, ModelSignature, ParamSpec, TensorSpec
from cairn.models.datatypes import DataType
from cairn.models.enforcement import enforce_input, enforce_params

COLUMNS = ModelSignature(
    inputs=(
        ColumnSpec("count", DataType.LONG),
        ColumnSpec("small", DataType.INTEGER),
        ColumnSpec("price", DataType.DOUBLE),
        ColumnSpec("name", DataType.STRING),
        ColumnSpec("note", DataType.STRING, optional=True),
    )
)


def test_safe_conversions_and_signature_column_order() -> None:
    data = pd.DataFrame(
        {
            "extra": [9, 9],
            "name": ["x", "y"],
            "price": np.array([1, 2], dtype="int32"),
            "small": [3.0, 4.0],
            "count": np.array([5, 6], dtype="int32"),
        }
    )
    result = enforce_input(COLUMNS, data)
    assert list(result.columns) == ["count", "small", "price", "name"]
    assert [str(t) for t in result.dtypes[:3]] == ["int64", "int32", "float64"]
    assert result["small"].tolist() == [3, 4]


def test_one_error_names_every_bad_column_with_expected_and_actual_types() -> None:
    data = {"count": [1.5], "small": [2**40], "price": ["cheap"], "note": ["fine"]}
    with pytest.raises(InvalidArgument) as caught:
        enforce_input(COLUMNS, data)
    message = caught.value.message
    assert "column 'count' expected long, got float64 (1.5 is not a whole number)" in message
    assert "column 'small' expected integer, got int64 (1099511627776 is out of range for int32)" in message
    assert "column 'price' expected double, got str" in message
    assert "column 'name' is missing (expected string)" in message
    assert "note" not in message


def test_booleans_are_not_numbers_and_numbers_are_not_strings() -> None:
    signature = ModelSignature(inputs=(ColumnSpec("n", DataType.LONG), ColumnSpec("s", DataType.STRING)))
    with pytest.raises(
        InvalidArgument, match=r"column 'n' expected long, got bool.*column 's' expected string"
    ):
        enforce_input(signature, {"n": [True], "s": [1]})


def test_large_integers_are_refused_as_floats_when_inexact() -> None:
    signature = ModelSignature(inputs=(ColumnSpec("x", DataType.FLOAT),))
    assert enforce_input(signature, {"x": [3]})["x"].dtype == np.float32
    with pytest.raises(InvalidArgument, match="cannot be represented exactly as float32"):
        enforce_input(signature, {"x": [2**30 + 1]})


def test_missing_values_in_integer_columns_are_refused() -> None:
    signature = ModelSignature(inputs=(ColumnSpec("x", DataType.LONG),))
    with pytest.raises(InvalidArgument, match="column 'x' expected long.*missing values"):
        enforce_input(signature, {"x": [1.0, None]})


def test_datetimes_accept_iso_strings() -> None:
    signature = ModelSignature(inputs=(ColumnSpec("when", DataType.DATETIME),))
    result = enforce_input(signature, [{"when": "2024-01-02T03:04:05"}])
    assert result["when"].dtype.kind == "M"
    with pytest.raises(InvalidArgument, match="column 'when' expected datetime"):
        enforce_input(signature, [{"when": "not a date"}])


def test_rows_and_arrays_are_matched_to_named_columns_by_position() -> None:
    signature = ModelSignature(inputs=(ColumnSpec("a", DataType.DOUBLE), ColumnSpec("b", DataType.LONG)))
    assert enforce_input(signature, [[1.0, 2], [3.0, 4]]).to_dict("list") == {"a": [1.0, 3.0], "b": [2, 4]}
    assert list(enforce_input(signature, np.array([[1.0, 2.0]])).columns) == ["a", "b"]
    assert list(enforce_input(signature, pd.DataFrame([[1.0, 2]])).columns) == ["a", "b"]


def test_unnamed_columns_are_matched_by_position() -> None:
    signature = ModelSignature(inputs=(ColumnSpec(None, DataType.STRING),))
    assert enforce_input(signature, ["a", "b"]).iloc[:, 0].tolist() == ["a", "b"]
    with pytest.raises(InvalidArgument, match="expected 1 unnamed column"):
        enforce_input(signature, [["a", "b"]])


def test_tensor_dtype_and_shape() -> None:
    signature = ModelSignature(inputs=(TensorSpec(None, "float32", (-1, 2)),))
    result = enforce_input(signature, [[1, 2], [3, 4]])
    assert result.dtype == np.float32 and result.shape == (2, 2)
    assert enforce_input(signature, np.array([[0.1, 0.2]])).dtype == np.float32
    with pytest.raises(InvalidArgument, match=r"tensor expected shape \[-1, 2\], got \[1, 3\]"):
        enforce_input(signature, [[1.0, 2.0, 3.0]])
    with pytest.raises(InvalidArgument, match="tensor expected float32, got <U1"):
        enforce_input(signature, [["a", "b"]])


def test_tensor_float_to_int_needs_whole_numbers() -> None:
    signature = ModelSignature(inputs=(TensorSpec(None, "int64", (-1,)),))
    assert enforce_input(signature, np.array([1.0, 2.0])).dtype == np.int64
    with pytest.raises(InvalidArgument, match="2.5 is not a whole number"):
        enforce_input(signature, np.array([1.0, 2.5]))


def test_named_tensors() -> None:
    signature = ModelSignature(
        inputs=(TensorSpec("x", "float64", (-1, 2)), TensorSpec("mask", "bool", (-1,)))
    )
    result = enforce_input(signature, {"x": [[1, 2]], "mask": [True], "ignored": [0]})
    assert set(result) == {"x", "mask"} and result["x"].dtype == np.float64
    with pytest.raises(InvalidArgument, match=r"tensor 'mask' is missing \(expected bool \[-1\]\)"):
        enforce_input(signature, {"x": [[1, 2]]})


def test_params_defaults_conversion_and_refusals() -> None:
    signature = ModelSignature(
        inputs=(),
        params=(ParamSpec("k", DataType.LONG, 5), ParamSpec("weights", DataType.DOUBLE, [1.0], shape=(-1,))),
    )
    assert enforce_params(signature, None) == {"k": 5, "weights": [1.0]}
    assert enforce_params(signature, {"k": 2.0, "weights": np.array([1, 2])}) == {
        "k": 2,
        "weights": [1.0, 2.0],
    }
    with pytest.raises(InvalidArgument) as caught:
        enforce_params(signature, {"k": "many", "speed": 1})
    assert "param 'speed' is not in the model signature" in caught.value.message
    assert "param 'k' must be long; got str 'many'" in caught.value.message
    assert enforce_params(None, {"anything": 1}) == {"anything": 1}


NUMERIC = ModelSignature(
    inputs=(
        ColumnSpec("a", DataType.DOUBLE),
        ColumnSpec("b", DataType.LONG),
        ColumnSpec("c", DataType.BOOLEAN),
        ColumnSpec("d", DataType.FLOAT),
    )
)


def test_a_frame_already_in_the_signature_dtypes_passes_in_signature_order() -> None:
    data = pd.DataFrame(
        {
            "extra": ["x", "y"],
            "d": np.array([0.5, 1.5], dtype="float32"),
            "c": [True, False],
            "b": np.array([1, 2], dtype="int64"),
            "a": [0.25, 0.75],
        }
    )
    result = enforce_input(NUMERIC, data)
    assert list(result.columns) == ["a", "b", "c", "d"]
    assert [str(t) for t in result.dtypes] == ["float64", "int64", "bool", "float32"]
    pd.testing.assert_frame_equal(result, data[["a", "b", "c", "d"]])


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("a", np.array([1, 2], dtype="int32"), [1.0, 2.0]),  # widened to float64
        ("a", pd.array([1.0, None], dtype="Float64"), [1.0, None]),  # extension dtype, converted
        ("b", pd.array([3, 4], dtype="Int64"), [3, 4]),
        ("d", np.array([0.5, 1.5], dtype="float64"), [0.5, 1.5]),  # narrowed only because it is exact
    ],
)
def test_columns_in_another_dtype_still_get_the_safe_conversions(
    column: str, values: object, expected: list[object]
) -> None:
    data = pd.DataFrame(
        {"a": [0.25, 0.75], "b": np.array([1, 2]), "c": [True, False], "d": np.array([0.5, 1.5], "float32")}
    )
    data[column] = values
    result = enforce_input(NUMERIC, data)
    wanted = {"a": "float64", "b": "int64", "c": "bool", "d": "float32"}
    assert [str(t) for t in result.dtypes] == list(wanted.values())
    assert [None if pd.isna(v) else v for v in result[column].tolist()] == expected


def test_a_duplicated_column_is_not_taken_as_conforming() -> None:
    data = pd.DataFrame([[0.5, 0.5, 1, True, 0.5]], columns=["a", "a", "b", "c", "d"])
    data["d"] = data["d"].astype("float32")
    with pytest.raises(InvalidArgument, match="column 'a' appears more than once"):
        enforce_input(NUMERIC, data)
