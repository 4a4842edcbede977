from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cairn.errors import InvalidArgument
from cairn.models import ColumnSpec, ModelSignature, ParamSpec, TensorSpec, infer_signature
from cairn.models.datatypes import DataType


def test_dataframe_columns_get_their_types() -> None:
    frame = pd.DataFrame(
        {
            "i32": np.array([1, 2], dtype="int32"),
            "i64": np.array([1, 2], dtype="int64"),
            "f32": np.array([1.0, 2.0], dtype="float32"),
            "f64": [1.5, 2.5],
            "flag": [True, False],
            "text": ["x", "y"],
            "raw": [b"x", b"y"],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )
    signature = infer_signature(frame)
    assert [(c.name, c.type) for c in signature.inputs if isinstance(c, ColumnSpec)] == [
        ("i32", DataType.INTEGER),
        ("i64", DataType.LONG),
        ("f32", DataType.FLOAT),
        ("f64", DataType.DOUBLE),
        ("flag", DataType.BOOLEAN),
        ("text", DataType.STRING),
        ("raw", DataType.BINARY),
        ("when", DataType.DATETIME),
    ]
    assert signature.outputs == () and signature.params == ()


def test_missing_values_make_a_column_optional_but_nan_floats_do_not() -> None:
    frame = pd.DataFrame({"text": ["x", None], "number": [1.0, float("nan")]})
    columns = infer_signature(frame).inputs
    assert columns == (
        ColumnSpec("text", DataType.STRING, optional=True),
        ColumnSpec("number", DataType.DOUBLE, optional=False),
    )


def test_records_with_absent_keys_give_optional_columns() -> None:
    signature = infer_signature([{"a": 1, "b": "x"}, {"a": 2}])
    assert signature.inputs == (
        ColumnSpec("a", DataType.LONG),
        ColumnSpec("b", DataType.STRING, optional=True),
    )


def test_dict_of_scalars_and_dict_of_lists_are_columns() -> None:
    assert infer_signature({"a": 1.0, "b": "x"}).inputs == (
        ColumnSpec("a", DataType.DOUBLE),
        ColumnSpec("b", DataType.STRING),
    )
    assert infer_signature({"a": [1, 2]}).inputs == (ColumnSpec("a", DataType.LONG),)


def test_list_of_scalars_is_one_unnamed_column() -> None:
    assert infer_signature(["a", "b"]).inputs == (ColumnSpec(None, DataType.STRING),)


def test_series_gives_one_column() -> None:
    assert infer_signature(pd.Series([1.0], name="x")).inputs == (ColumnSpec("x", DataType.DOUBLE),)
    assert infer_signature(pd.Series([1.0])).inputs == (ColumnSpec(None, DataType.DOUBLE),)


def test_arrays_and_lists_of_rows_are_tensors_with_any_batch_size() -> None:
    assert infer_signature(np.zeros((3, 4), dtype="float32")).inputs == (
        TensorSpec(None, "float32", (-1, 4)),
    )
    assert infer_signature([[1, 2], [3, 4]]).inputs == (TensorSpec(None, "int64", (-1, 2)),)
    named = infer_signature({"x": np.zeros((2, 3)), "mask": np.ones((2,), dtype=bool)}).inputs
    assert named == (TensorSpec("x", "float64", (-1, 3)), TensorSpec("mask", "bool", (-1,)))


def test_output_and_params_are_inferred() -> None:
    signature = infer_signature(
        pd.DataFrame({"a": [1.0]}), np.array([0, 1]), params={"k": 3, "scale": 0.5, "tags": ["x", "y"]}
    )
    assert signature.outputs == (TensorSpec(None, "int64", (-1,)),)
    assert signature.params == (
        ParamSpec("k", DataType.LONG, 3),
        ParamSpec("scale", DataType.DOUBLE, 0.5),
        ParamSpec("tags", DataType.STRING, ["x", "y"], shape=(-1,)),
    )


def test_mixed_column_types_are_refused_naming_the_column() -> None:
    with pytest.raises(InvalidArgument, match=r"column 'mixed' mixes types \(long, string\)"):
        infer_signature(pd.DataFrame({"mixed": [1, "x"]}, dtype=object))


def test_all_missing_column_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="'empty' holds only missing values"):
        infer_signature(pd.DataFrame({"empty": [None, None]}, dtype=object))


def test_round_trip_through_json_form() -> None:
    signature = ModelSignature(
        inputs=(ColumnSpec("a", DataType.DOUBLE), ColumnSpec("b", DataType.STRING, optional=True)),
        outputs=(TensorSpec(None, "float32", (-1, 2)),),
        params=(
            ParamSpec("when", DataType.DATETIME, dt.datetime(2024, 5, 1, 12)),
            ParamSpec("blob", DataType.BINARY, b"\x00\x01"),
            ParamSpec("ks", DataType.LONG, [1, 2], shape=(-1,)),
            ParamSpec("opt", DataType.STRING, None),
        ),
    )
    data = signature.to_dict()
    assert data["params"][0]["default"] == "2024-05-01T12:00:00"
    assert ModelSignature.from_dict(data) == signature


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"inputs": [{"name": "a", "type": "decimal"}]}, r"signature.inputs\[0\].type must be one of"),
        (
            {"inputs": [{"name": "a", "type": "long", "colour": 1}]},
            r"signature.inputs\[0\] has unknown fields",
        ),
        ({"inputs": [{"type": "tensor", "dtype": "float32", "shape": "x"}]}, r"signature.inputs\[0\].shape"),
        ({"inputs": [], "params": [{"name": "k", "type": "long", "default": "x"}]}, "param 'k' must be long"),
        ({"inputs": [], "extra": []}, "signature has unknown fields: extra"),
        ({"inputs": {}}, "signature.inputs must be a list"),
    ],
)
def test_from_dict_names_the_bad_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        ModelSignature.from_dict(data)


def test_signature_rules() -> None:
    with pytest.raises(InvalidArgument, match="all columns or all tensors"):
        ModelSignature(inputs=(ColumnSpec("a", DataType.LONG), TensorSpec("t", "float32", (-1,))))
    with pytest.raises(InvalidArgument, match="names 'a' twice"):
        ModelSignature(inputs=(ColumnSpec("a", DataType.LONG), ColumnSpec("a", DataType.DOUBLE)))
    with pytest.raises(InvalidArgument, match="all named or all unnamed"):
        ModelSignature(inputs=(ColumnSpec("a", DataType.LONG), ColumnSpec(None, DataType.DOUBLE)))
    with pytest.raises(InvalidArgument, match="shape must hold integers >= -1"):
        TensorSpec(None, "float32", (-2,))
    with pytest.raises(InvalidArgument, match="not a numpy dtype"):
        TensorSpec(None, "floaty", (-1,))
    with pytest.raises(InvalidArgument, match="param 'k' must be long"):
        ParamSpec("k", DataType.LONG, 1.5)
