"""The ONNX flavor: checked graphs saved as model.onnx and run with ONNX Runtime on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx  # type: ignore[import-untyped]
from sklearn.linear_model import LinearRegression, LogisticRegression

from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, get_flavor
from cairn.models.flavors.onnx import FLAVOR

OPSET = 17


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    return np.random.default_rng(2).normal(size=(30, 3))


@pytest.fixture(scope="module")
def classifier(features: np.ndarray) -> LogisticRegression:
    return LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))


def _round_trip(model: Any, tmp_path: Path, **save_args: Any) -> tuple[Any, dict[str, Any]]:
    saved = FLAVOR.save(model, tmp_path, **save_args)
    return FLAVOR.load(tmp_path, saved.config), dict(saved.config)


def _two_input_graph() -> onnx.ModelProto:
    """Add(left, right) on float vectors, and a cast of `count` (int64) to float."""
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["left", "right"], ["total"]),
            helper.make_node("Identity", ["count"], ["same"]),
        ],
        "two_inputs",
        [
            helper.make_tensor_value_info("left", TensorProto.FLOAT, [None, 2]),
            helper.make_tensor_value_info("right", TensorProto.FLOAT, [None, 2]),
            helper.make_tensor_value_info("count", TensorProto.INT64, [None]),
        ],
        [
            helper.make_tensor_value_info("total", TensorProto.FLOAT, [None, 2]),
            helper.make_tensor_value_info("same", TensorProto.INT64, [None]),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def test_single_output_comes_back_as_an_array(features: np.ndarray, tmp_path: Path) -> None:
    model = LinearRegression().fit(features, features @ np.array([1.0, -2.0, 0.5]))
    proto = to_onnx(model, features[:1].astype(np.float32), target_opset=OPSET)
    predictor, config = _round_trip(proto, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    assert (
        config["serialization"] == "onnx" and config["inputs"] == ["X"] and config["outputs"] == ["variable"]
    )
    assert predictor.input_kind is InputKind.NDARRAY
    predicted = predictor.predict(features)  # float64 in: cast to the graph's float32
    assert isinstance(predicted, np.ndarray) and predicted.dtype == np.float32
    assert np.allclose(predicted.ravel(), model.predict(features), atol=1e-5)


def test_several_outputs_come_back_as_a_dict(
    classifier: LogisticRegression, features: np.ndarray, tmp_path: Path
) -> None:
    proto = to_onnx(
        classifier, features[:1].astype(np.float32), options={"zipmap": False}, target_opset=OPSET
    )
    predictor, _ = _round_trip(proto, tmp_path)
    outputs = predictor.predict(features)
    assert set(outputs) == {"label", "probabilities"}
    assert np.array_equal(outputs["label"], classifier.predict(features))
    assert np.allclose(outputs["probabilities"], classifier.predict_proba(features), atol=1e-5)


def test_zipmap_probabilities_become_a_dataframe(
    classifier: LogisticRegression, features: np.ndarray, tmp_path: Path
) -> None:
    proto = to_onnx(classifier, features[:1].astype(np.float32), target_opset=OPSET)
    predictor, _ = _round_trip(proto, tmp_path)
    probabilities = predictor.predict(features)["output_probability"]
    assert isinstance(probabilities, pd.DataFrame)
    columns: list[Any] = list(probabilities.columns)
    assert columns == [0, 1]
    assert np.allclose(probabilities.to_numpy(), classifier.predict_proba(features), atol=1e-5)


def test_bytes_and_paths_are_accepted(
    classifier: LogisticRegression, features: np.ndarray, tmp_path: Path
) -> None:
    proto = to_onnx(
        classifier, features[:1].astype(np.float32), options={"zipmap": False}, target_opset=OPSET
    )
    source = tmp_path / "exported.onnx"
    source.write_bytes(proto.SerializeToString())
    for name, model in [
        ("from_bytes", proto.SerializeToString()),
        ("from_path", source),
        ("from_str", str(source)),
    ]:
        folder = tmp_path / name
        folder.mkdir()
        predictor, _ = _round_trip(model, folder)
        assert np.array_equal(predictor.predict(features)["label"], classifier.predict(features))


def test_several_inputs_take_a_dict_by_name(tmp_path: Path) -> None:
    saved = FLAVOR.save(_two_input_graph(), tmp_path)
    assert saved.packages == ("onnx", "onnxruntime") and saved.unsafe_format is False
    predictor = FLAVOR.load(tmp_path, saved.config)
    left, right = np.ones((2, 2)), np.arange(4).reshape(2, 2)  # float64 and int64: both cast to float32
    outputs = predictor.predict({"left": left, "right": right, "count": np.array([3, 4])})
    assert np.allclose(outputs["total"], left + right)
    assert outputs["total"].dtype == np.float32
    assert outputs["same"].tolist() == [3, 4]
    with pytest.raises(InvalidArgument, match="several inputs .*left, right, count.*dict"):
        predictor.predict(left)
    with pytest.raises(InvalidArgument, match="missing: count; unknown: extra"):
        predictor.predict({"left": left, "right": right, "extra": left})
    with pytest.raises(
        InvalidArgument, match="input 'count': cannot convert float64 values to tensor\\(int64\\)"
    ):
        predictor.predict({"left": left, "right": right, "count": np.array([1.5])})


def test_runtime_refusals_become_invalid_argument(features: np.ndarray, tmp_path: Path) -> None:
    model = LinearRegression().fit(features, features[:, 0])
    predictor, _ = _round_trip(to_onnx(model, features[:1].astype(np.float32), target_opset=OPSET), tmp_path)
    with pytest.raises(InvalidArgument, match="Invalid rank"):
        predictor.predict(features[0])
    with pytest.raises(InvalidArgument, match="temperature"):
        predictor.predict(features, {"temperature": 1})


def test_invalid_models_are_refused(tmp_path: Path) -> None:
    broken = _two_input_graph()
    broken.graph.node[0].input[1] = "nowhere"
    with pytest.raises(InvalidArgument, match="not a valid ONNX graph.*nowhere"):
        FLAVOR.save(broken, tmp_path)
    with pytest.raises(InvalidArgument, match="not a serialized ONNX model"):
        FLAVOR.save(b"\x00definitely not protobuf\xff", tmp_path)
    with pytest.raises(InvalidArgument, match="cannot read the ONNX file"):
        FLAVOR.save(tmp_path / "absent.onnx", tmp_path)
    with pytest.raises(InvalidArgument, match="expected an onnx.ModelProto.*LinearRegression"):
        FLAVOR.save(LinearRegression(), tmp_path)
    assert not list(tmp_path.iterdir())


def test_bad_serialization_and_options_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="'pickle'"):
        FLAVOR.save(_two_input_graph(), tmp_path, serialization="pickle")
    with pytest.raises(InvalidArgument, match="providers"):
        FLAVOR.save(_two_input_graph(), tmp_path, options={"providers": ["CUDAExecutionProvider"]})


def test_can_save_by_type(tmp_path: Path) -> None:
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(_two_input_graph().SerializeToString())
    other_file = tmp_path / "model.txt"
    other_file.write_text("text")
    assert FLAVOR.can_save(_two_input_graph())
    assert FLAVOR.can_save(onnx_file) and FLAVOR.can_save(str(onnx_file))
    assert not FLAVOR.can_save(other_file)
    assert not FLAVOR.can_save(tmp_path / "missing.onnx")
    assert not FLAVOR.can_save(onnx_file.read_bytes())
    assert not FLAVOR.can_save(LinearRegression())
    assert get_flavor("onnx") is FLAVOR
