"""Each flavor through the model package: save_model, then load_model(...).predict on pandas or numpy."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb
from skl2onnx import to_onnx  # type: ignore[import-untyped]
from sklearn.linear_model import LinearRegression

from cairn.models import load_model, save_model


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    return pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"])


def test_xgboost_package(frame: pd.DataFrame, tmp_path: Path) -> None:
    model = xgb.XGBClassifier(n_estimators=3).fit(frame, (frame["a"] > 0).astype(int))
    spec = save_model(model, tmp_path / "model", flavor="xgboost", input_example=frame.head(3))
    assert any(line.startswith("xgboost-cpu==") for line in spec.requirements)
    loaded = load_model(tmp_path / "model")
    assert type(loaded.unwrap()) is xgb.XGBClassifier
    assert np.array_equal(np.asarray(loaded.predict(frame)).ravel(), model.predict(frame))


def test_lightgbm_package(frame: pd.DataFrame, tmp_path: Path) -> None:
    labels = np.array([3, 5, 7])[(frame["a"] > 0).astype(int) + (frame["b"] > 0).astype(int)]
    model = lgb.LGBMClassifier(n_estimators=3, min_child_samples=5, verbose=-1).fit(frame, labels)
    save_model(model, tmp_path / "model", flavor="lightgbm", input_example=frame.head(3))
    loaded = load_model(tmp_path / "model")
    assert type(loaded.unwrap()) is lgb.LGBMClassifier
    assert np.array_equal(np.asarray(loaded.predict(frame)).ravel(), np.asarray(model.predict(frame)))


def test_lightgbm_package_keeps_string_labels(frame: pd.DataFrame, tmp_path: Path) -> None:
    labels = np.where(frame["b"] > 0, "high", "low")
    model = lgb.LGBMClassifier(n_estimators=3, min_child_samples=5, verbose=-1).fit(frame, labels)
    save_model(model, tmp_path / "model", flavor="lightgbm", input_example=frame.head(3))
    predicted = load_model(tmp_path / "model").predict(frame)
    assert np.asarray(predicted).ravel().tolist() == np.asarray(model.predict(frame)).tolist()


def test_pytorch_state_dict_package_imports_its_class_from_code_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "src" / "scorer_net.py"
    source.parent.mkdir()
    source.write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            class ScorerNet(nn.Module):
                def __init__(self, hidden: int) -> None:
                    super().__init__()
                    self.body = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 1))

                def forward(self, x: torch.Tensor) -> torch.Tensor:
                    return self.body(x)
            """
        )
    )
    monkeypatch.setattr(sys, "path", [str(source.parent), *sys.path])
    net_class = importlib.import_module("scorer_net").ScorerNet
    model = net_class(hidden=4)
    example = np.random.default_rng(1).normal(size=(5, 3))
    save_model(
        model,
        tmp_path / "model",
        flavor="pytorch",
        serialization="state_dict",
        options={"model_class": net_class, "init_args": {"hidden": 4}},
        code_paths=[source],
        input_example=example,
    )
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry != str(source.parent)])
    monkeypatch.delitem(sys.modules, "scorer_net")
    source.unlink()  # only the package's copy of the code is left to import

    loaded = load_model(tmp_path / "model")
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(example).float()).numpy()
    assert np.allclose(loaded.predict(example), expected)


def test_pytorch_torchscript_package(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh())
    example = np.random.default_rng(2).normal(size=(4, 3))
    save_model(model, tmp_path / "model", input_example=example)
    loaded = load_model(tmp_path / "model")
    assert loaded.flavor == "pytorch"
    with torch.no_grad():
        assert np.allclose(loaded.predict(example), model(torch.from_numpy(example).float()).numpy())


def test_onnx_package_predicts_on_numpy_and_pandas(frame: pd.DataFrame, tmp_path: Path) -> None:
    regression = LinearRegression().fit(frame, frame["a"] - frame["c"])
    proto = to_onnx(regression, frame.to_numpy()[:1].astype(np.float32), target_opset=17)
    save_model(proto, tmp_path / "model", flavor="onnx", input_example=frame.to_numpy()[:3])
    loaded = load_model(tmp_path / "model")
    expected = regression.predict(frame)
    assert np.allclose(np.asarray(loaded.predict(frame.to_numpy())).ravel(), expected, atol=1e-5)
    assert np.allclose(np.asarray(loaded.predict(frame)).ravel(), expected, atol=1e-5)
