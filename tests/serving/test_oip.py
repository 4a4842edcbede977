"""The Open Inference Protocol (KServe v2): tensor conversion, and the /v2 routes served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from scoring_server import serving

from cairn.errors import InvalidArgument
from cairn.models import ColumnSpec, LoadedModel, ModelSignature
from cairn.models.datatypes import DataType
from cairn.models.signature import TensorSpec
from cairn.serving.app import create_scoring_app
from cairn.serving.oip import (
    decode_infer_request,
    decode_tensor,
    encode_infer_response,
    model_input,
    tensor_metadata,
)

NAME = "churn"


def tensor(name: str, shape: list[int], datatype: str, data: Any) -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def infer_body(*tensors: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"inputs": list(tensors), **extra}).encode()


def test_flat_and_nested_data_give_the_same_array() -> None:
    _, flat = decode_tensor(0, tensor("x", [2, 3], "FP32", [1, 2, 3, 4, 5, 6]))
    _, nested = decode_tensor(0, tensor("x", [2, 3], "FP32", [[1, 2, 3], [4, 5, 6]]))
    assert flat.dtype == np.float32
    assert flat.shape == (2, 3)
    np.testing.assert_array_equal(flat, nested)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (tensor("age", [2, 2], "INT64", [1, 2, 3]), "input 'age' has 3 values but shape [2, 2] needs 4"),
        (tensor("age", [3], "INT65", [1, 2, 3]), "input 'age' datatype must be one of"),
        (tensor("age", [-1], "INT64", [1]), "input 'age' shape must be a list of non-negative integers"),
        (tensor("age", [1], "INT64", ["old"]), "input 'age' datatype INT64 cannot hold the value 'old'"),
        (tensor("age", [1], "INT64", [1.5]), "input 'age' datatype INT64 cannot hold the value 1.5"),
        (tensor("flag", [1], "BOOL", [1]), "input 'flag' datatype BOOL cannot hold the value 1"),
        (tensor("age", [1], "UINT8", [300]), "input 'age' holds values out of the range of UINT8"),
        (tensor("", [1], "INT64", [1]), "inputs[0].name must be a non-empty string"),
        ({"name": "age", "shape": [1]}, "inputs[0] must be an object with name, shape, datatype, data"),
    ],
)
def test_bad_tensors_are_refused_naming_the_input(raw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        decode_tensor(0, raw)
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"inputs": []}', "'inputs' must be a non-empty list"),
        (infer_body(tensor("a", [1], "FP64", [1]), id=7), "'id' must be a string"),
        (infer_body(tensor("a", [1], "FP64", [1]), parameters=[1]), "'parameters' must be an object"),
        (
            infer_body(tensor("a", [1], "FP64", [1]), tensor("a", [1], "FP64", [2])),
            "'a' given more than once",
        ),
    ],
)
def test_bad_infer_requests_are_refused(body: bytes, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        decode_infer_request(body, None)
    assert fragment in caught.value.message


def test_column_signatures_take_each_tensor_as_a_column() -> None:
    signature = ModelSignature(inputs=(ColumnSpec("a", DataType.DOUBLE), ColumnSpec("b", DataType.LONG)))
    body = infer_body(
        tensor("a", [2], "FP64", [0.5, 1.5]), tensor("b", [2, 1], "INT64", [[1], [2]]), parameters={"k": 1}
    )
    decoded = decode_infer_request(body, signature)
    expected = pd.DataFrame({"a": [0.5, 1.5], "b": np.array([1, 2], dtype=np.int64)})
    pd.testing.assert_frame_equal(decoded.data, expected)
    assert decoded.params == {"k": 1}


def test_columns_of_different_lengths_are_refused() -> None:
    signature = ModelSignature(inputs=(ColumnSpec("a", DataType.DOUBLE), ColumnSpec("b", DataType.DOUBLE)))
    body = infer_body(tensor("a", [2], "FP64", [0.5, 1.5]), tensor("b", [1], "FP64", [1.0]))
    with pytest.raises(InvalidArgument, match="input 'b' has 1 rows but input 'a' has 2"):
        decode_infer_request(body, signature)


def test_tensor_signatures_take_one_array_or_a_dict_of_arrays() -> None:
    single = ModelSignature(inputs=(TensorSpec(None, "float32", (-1, 2)),))
    named = ModelSignature(inputs=(TensorSpec("x", "float32", (-1, 2)), TensorSpec("y", "int64", (-1,))))
    x = ("x", np.zeros((3, 2), dtype=np.float32))
    y = ("y", np.arange(3))
    assert model_input([x], single) is x[1]
    assert model_input([x, y], named) == {"x": x[1], "y": y[1]}
    assert model_input([x], None) is x[1]


def test_responses_name_every_output_with_shape_and_datatype() -> None:
    frame = pd.DataFrame({"total": [1.5, float("nan")], "label": ["low", "high"]})
    body = json.loads(
        encode_infer_response(frame, model_name="m", model_version="3", request_id="r1", signature=None)
    )
    assert body == {
        "model_name": "m",
        "model_version": "3",
        "id": "r1",
        "outputs": [
            {"name": "total", "shape": [2], "datatype": "FP64", "data": [1.5, None]},
            {"name": "label", "shape": [2], "datatype": "BYTES", "data": ["low", "high"]},
        ],
    }
    array = json.loads(
        encode_infer_response(
            np.array([[1, 2]], dtype=np.int32),
            model_name="m",
            model_version=None,
            request_id=None,
            signature=None,
        )
    )
    assert array == {
        "model_name": "m",
        "outputs": [{"name": "predict", "shape": [1, 2], "datatype": "INT32", "data": [1, 2]}],
    }


def test_tensor_metadata_describes_columns_and_tensors() -> None:
    specs = (
        ColumnSpec("a", DataType.FLOAT),
        ColumnSpec(None, DataType.STRING),
        TensorSpec("t", "uint8", (-1, 4)),
    )
    assert tensor_metadata("input", specs) == [
        {"name": "a", "datatype": "FP32", "shape": [-1]},
        {"name": "input-1", "datatype": "BYTES", "shape": [-1]},
        {"name": "t", "datatype": "UINT8", "shape": [-1, 4]},
    ]


@pytest.fixture(scope="module")
def client(sklearn_model: LoadedModel) -> Iterator[httpx.Client]:
    with serving(create_scoring_app(sklearn_model, model_name=NAME, model_version="4")) as http:
        yield http


def columns_request(features: pd.DataFrame) -> dict[str, Any]:
    inputs = [tensor(str(c), [len(features)], "FP64", features[c].tolist()) for c in features.columns]
    return {"id": "req-1", "inputs": inputs}


def test_health_routes(client: httpx.Client) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get(f"/v2/models/{NAME}/ready").json() == {"name": NAME, "ready": True}
    assert client.get("/v2").json()["name"] == "cairn"


def test_model_metadata_comes_from_the_signature(client: httpx.Client) -> None:
    response = client.get(f"/v2/models/{NAME}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == NAME
    assert body["versions"] == ["4"]
    assert body["platform"] == "cairn-sklearn"
    assert body["inputs"] == [
        {"name": "a", "datatype": "FP64", "shape": [-1]},
        {"name": "b", "datatype": "FP64", "shape": [-1]},
    ]


def test_infer_predicts_like_in_process(
    client: httpx.Client, sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    response = client.post(f"/v2/models/{NAME}/infer", json=columns_request(features))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == NAME
    assert body["model_version"] == "4"
    assert body["id"] == "req-1"
    [output] = body["outputs"]
    assert output["name"] == "predict"
    assert output["shape"] == [len(features)]
    assert output["datatype"] == "INT64"
    assert output["data"] == sklearn_model.predict(features).tolist()


@pytest.mark.parametrize("path", ["/v2/models/other", "/v2/models/other/ready"])
def test_unknown_model_is_404(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "'other' is not served here" in response.json()["error"]


def test_infer_on_unknown_model_is_404(client: httpx.Client, features: pd.DataFrame) -> None:
    response = client.post("/v2/models/other/infer", json=columns_request(features))
    assert response.status_code == 404


def test_bad_tensor_is_400_naming_the_input(client: httpx.Client) -> None:
    bad_shape = {"inputs": [tensor("a", [3], "FP64", [1.0, 2.0]), tensor("b", [3], "FP64", [1, 2, 3])]}
    bad_type = {"inputs": [tensor("a", [1], "FP99", [1.0]), tensor("b", [1], "FP64", [1])]}
    shape_answer = client.post(f"/v2/models/{NAME}/infer", json=bad_shape)
    type_answer = client.post(f"/v2/models/{NAME}/infer", json=bad_type)
    assert shape_answer.status_code == 400
    assert "input 'a' has 2 values but shape [3] needs 3" in shape_answer.json()["error"]
    assert type_answer.status_code == 400
    assert "input 'a' datatype must be one of" in type_answer.json()["message"]


def test_missing_column_is_400_naming_it(client: httpx.Client) -> None:
    response = client.post(f"/v2/models/{NAME}/infer", json={"inputs": [tensor("a", [1], "FP64", [1.0])]})
    assert response.status_code == 400
    assert "'b'" in response.json()["message"]


def test_binary_tensors_and_other_content_types_are_415(client: httpx.Client) -> None:
    binary = client.post(
        f"/v2/models/{NAME}/infer", content=b"{}", headers={"Inference-Header-Content-Length": "2"}
    )
    text = client.post(f"/v2/models/{NAME}/infer", content=b"{}", headers={"Content-Type": "text/csv"})
    assert binary.status_code == 415
    assert text.status_code == 415


def test_parameters_reach_the_model_as_params(scaled_sum_model: LoadedModel) -> None:
    inputs = [tensor("x", [2], "FP64", [1.0, 5.0]), tensor("y", [2], "FP64", [2.0, 6.5])]
    with serving(create_scoring_app(scaled_sum_model)) as http:
        scaled = http.post("/v2/models/model/infer", json={"inputs": inputs, "parameters": {"scale": 2}})
        unknown = http.post("/v2/models/model/infer", json={"inputs": inputs, "parameters": {"scael": 2}})
    assert scaled.status_code == 200, scaled.text
    assert scaled.json()["outputs"] == [
        {"name": "total", "shape": [2], "datatype": "FP64", "data": [6.0, 23.0]},
        {"name": "label", "shape": [2], "datatype": "BYTES", "data": ["low", "high"]},
    ]
    assert "model_version" not in scaled.json()
    assert unknown.status_code == 400
    assert "scael" in unknown.json()["error"]


def test_model_failure_is_500_with_a_request_id(broken_model: LoadedModel) -> None:
    with serving(create_scoring_app(broken_model)) as http:
        response = http.post("/v2/models/model/infer", json={"inputs": [tensor("x", [1], "FP64", [1.0])]})
    assert response.status_code == 500
    assert "RuntimeError: the model broke" in response.json()["error"]
    assert "request id" in response.json()["message"]


def test_model_name_must_be_a_path_segment(sklearn_model: LoadedModel) -> None:
    with pytest.raises(InvalidArgument, match="model_name must be a non-empty name without '/'"):
        create_scoring_app(sklearn_model, model_name="a/b")
