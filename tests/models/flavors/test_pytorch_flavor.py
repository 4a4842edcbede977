"""The PyTorch flavor: TorchScript (scripted, or traced as a fallback), state dicts, and pickle on request."""

from __future__ import annotations

import itertools
import pickle
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, get_flavor
from cairn.models.flavors.pytorch import FLAVOR

_module_names = (f"user_nets_{n}" for n in itertools.count())
_unpickled: list[str] = []


class TinyNet(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.hidden = nn.Linear(3, width)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(width, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.out(self.dropout(torch.relu(self.hidden(x))))
        return result


class Unscriptable(nn.Module):
    """Holds a Python lambda, which TorchScript cannot compile; tracing records through it."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.scale: Callable[[torch.Tensor], torch.Tensor] = lambda t: t * 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(self.linear(x))


class TwoInputs(nn.Module):
    def forward(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return left + right, left * right


class Marker:
    """Records being unpickled: a weights-only load must never build it."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_unpickled.append, ("built",))


@pytest.fixture
def example() -> np.ndarray:
    return np.random.default_rng(5).normal(size=(6, 3))


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of the user's own (as code_paths would ship it) defining Net; not yet imported."""
    name = next(_module_names)
    code = tmp_path / "code"
    code.mkdir()
    (code / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            class Net(nn.Module):
                def __init__(self, width: int) -> None:
                    super().__init__()
                    self.layer = nn.Linear(3, width)

                def forward(self, x: torch.Tensor) -> torch.Tensor:
                    return torch.tanh(self.layer(x))
            """
        )
    )
    monkeypatch.syspath_prepend(str(code))
    return name


def _expected(model: nn.Module, array: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        result: np.ndarray = model(torch.from_numpy(array).float()).numpy()
    return result


def _data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def test_torchscript_is_the_default(example: np.ndarray, tmp_path: Path) -> None:
    model = TinyNet()
    saved = FLAVOR.save(model, _data_dir(tmp_path))
    assert saved.config["serialization"] == "torchscript" and saved.config["method"] == "script"
    assert saved.unsafe_format is False and saved.packages == ("torch",)
    predictor = FLAVOR.load(tmp_path / "data", saved.config)
    assert predictor.input_kind is InputKind.NDARRAY
    assert isinstance(predictor.unwrap(), torch.jit.ScriptModule)
    first = predictor.predict(example)
    assert isinstance(first, np.ndarray) and first.dtype == np.float32
    assert np.allclose(first, _expected(model, example))
    assert np.array_equal(first, predictor.predict(example))  # eval mode: dropout is off


def test_unscriptable_module_is_traced_with_the_input_example(example: np.ndarray, tmp_path: Path) -> None:
    model = Unscriptable()
    assert model.training
    with pytest.warns(
        UserWarning, match="Unscriptable could not be scripted, so it was traced with the input example"
    ):
        saved = FLAVOR.save(model, _data_dir(tmp_path), input_example=example[:2])
    assert saved.config["method"] == "trace"
    assert model.training, "tracing must not leave the caller's module in eval mode"
    predictor = FLAVOR.load(tmp_path / "data", saved.config)
    assert np.allclose(predictor.predict(example), _expected(model, example))


def test_unscriptable_without_a_usable_example_points_to_state_dict(
    example: np.ndarray, tmp_path: Path
) -> None:
    with pytest.raises(
        InvalidArgument, match="pass an input_example to trace it, or use serialization=.state_dict."
    ):
        FLAVOR.save(Unscriptable(), tmp_path)
    with pytest.raises(InvalidArgument, match="can neither script .*Unscriptable nor trace it.*state_dict"):
        FLAVOR.save(Unscriptable(), tmp_path, input_example=np.ones((2, 5)))
    assert not list(tmp_path.iterdir())


def test_state_dict_with_a_class_from_the_users_code(
    user_module: str, example: np.ndarray, tmp_path: Path
) -> None:
    import importlib

    net_class = importlib.import_module(user_module).Net
    model = net_class(width=5)
    options = {"model_class": net_class, "init_args": {"width": 5}}
    saved = FLAVOR.save(model, _data_dir(tmp_path), serialization="state_dict", options=options)
    assert saved.config["model_class"] == f"{user_module}:Net"
    assert saved.config["init_args"] == {"width": 5}
    assert saved.unsafe_format is False
    state = torch.load(tmp_path / "data" / "state_dict.pt", weights_only=True)
    assert set(state) == {"layer.weight", "layer.bias"}

    del sys.modules[user_module]  # load imports the class afresh, as a new process would
    predictor = FLAVOR.load(tmp_path / "data", saved.config)
    assert type(predictor.unwrap()).__module__ == user_module
    assert np.allclose(predictor.predict(example), _expected(model, example))


def test_state_dict_accepts_the_class_as_a_string(
    user_module: str, example: np.ndarray, tmp_path: Path
) -> None:
    import importlib

    model = importlib.import_module(user_module).Net(width=2)
    options = {"model_class": f"{user_module}:Net", "init_args": {"width": 2}}
    saved = FLAVOR.save(model, _data_dir(tmp_path), serialization="state_dict", options=options)
    predictor = FLAVOR.load(tmp_path / "data", saved.config)
    assert np.allclose(predictor.predict(example), _expected(model, example))


def test_state_dict_is_loaded_weights_only(user_module: str, tmp_path: Path) -> None:
    import importlib

    model = importlib.import_module(user_module).Net(width=2)
    options = {"model_class": f"{user_module}:Net", "init_args": {"width": 2}}
    saved = FLAVOR.save(model, tmp_path, serialization="state_dict", options=options)
    torch.save({"layer.weight": Marker()}, tmp_path / "state_dict.pt")
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        FLAVOR.load(tmp_path, saved.config)
    assert _unpickled == []


def test_state_dict_options_are_checked_at_save(user_module: str, tmp_path: Path) -> None:
    import importlib

    net_class = importlib.import_module(user_module).Net
    model = net_class(width=3)

    class Local(nn.Module):
        pass

    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "needs model_class"),
        ({"model_class": 42}, "model_class must be a class"),
        ({"model_class": "no_colon"}, "not an importable"),
        ({"model_class": Local}, "not an importable"),
        ({"model_class": "__main__:Net"}, "__main__"),
        ({"model_class": "missing_module_xyz:Net"}, "cannot import 'missing_module_xyz:Net'"),
        ({"model_class": "numpy:ndarray"}, "not a torch.nn.Module subclass"),
        ({"model_class": net_class, "init_args": {"width": 7}}, r"does not load into .*Net\(\*\*init_args\)"),
        ({"model_class": net_class, "init_args": {"depth": 3}}, "does not load into"),
        ({"model_class": net_class, "init_args": {"width": np.int64(3)}}, "init_args must be a dict"),
        ({"model_class": net_class, "init_args": [3]}, r"init_args must be a dict .*got \[3\]"),
    ]
    data_dir = _data_dir(tmp_path)
    for options, message in cases:
        with pytest.raises(InvalidArgument, match=message):
            FLAVOR.save(model, data_dir, serialization="state_dict", options=options)
    assert not list(data_dir.iterdir())


def test_pickle_only_when_asked(example: np.ndarray, tmp_path: Path) -> None:
    model = TinyNet()
    saved = FLAVOR.save(model, tmp_path, serialization="pickle")
    assert saved.unsafe_format is True
    assert [p.name for p in tmp_path.iterdir()] == ["model.pth"]
    predictor = FLAVOR.load(tmp_path, saved.config)
    assert type(predictor.unwrap()) is TinyNet
    assert np.allclose(predictor.predict(example), _expected(model, example))


def test_float_dtype_option_keeps_double_precision(example: np.ndarray, tmp_path: Path) -> None:
    model = TinyNet().double()
    saved = FLAVOR.save(model, tmp_path, options={"float_dtype": "float64"})
    predicted = FLAVOR.load(tmp_path, saved.config).predict(example)
    assert predicted.dtype == np.float64
    model.eval()
    with torch.no_grad():
        assert np.allclose(predicted, model(torch.from_numpy(example)).numpy())


def test_dict_input_and_tuple_output(tmp_path: Path) -> None:
    saved = FLAVOR.save(TwoInputs(), tmp_path)
    predictor = FLAVOR.load(tmp_path, saved.config)
    left, right = np.arange(4.0).reshape(2, 2), np.full((2, 2), 3.0)
    total, product = predictor.predict({"left": left, "right": right})
    assert np.allclose(total, left + right) and np.allclose(product, left * right)


def test_integer_inputs_stay_integers(tmp_path: Path) -> None:
    embedding = nn.Embedding(10, 2)
    saved = FLAVOR.save(embedding, tmp_path)
    predicted = FLAVOR.load(tmp_path, saved.config).predict(np.array([[1, 4]]))
    with torch.no_grad():
        assert np.allclose(predicted, embedding(torch.tensor([[1, 4]])).numpy())


def test_bad_serialization_options_and_params_are_named(example: np.ndarray, tmp_path: Path) -> None:
    model = TinyNet()
    with pytest.raises(InvalidArgument, match="'onnx'"):
        FLAVOR.save(model, tmp_path, serialization="onnx")
    with pytest.raises(InvalidArgument, match="'device'"):
        FLAVOR.save(model, tmp_path, options={"device": "cuda"})
    with pytest.raises(InvalidArgument, match="'model_class' only applies to serialization='state_dict'"):
        FLAVOR.save(model, tmp_path, options={"model_class": TinyNet})
    with pytest.raises(InvalidArgument, match="float_dtype.*'float8'"):
        FLAVOR.save(model, tmp_path, options={"float_dtype": "float8"})
    with pytest.raises(InvalidArgument, match="ndarray"):
        FLAVOR.save(example, tmp_path)
    assert not list(tmp_path.iterdir())
    saved = FLAVOR.save(model, tmp_path)
    predictor = FLAVOR.load(tmp_path, saved.config)
    with pytest.raises(InvalidArgument, match="temperature"):
        predictor.predict(example, {"temperature": 0.5})
    with pytest.raises(InvalidArgument, match="object"):
        predictor.predict(np.array([["a", None, 1]], dtype=object))


def test_can_save_by_type() -> None:
    assert FLAVOR.can_save(TinyNet())
    assert FLAVOR.can_save(nn.Linear(1, 1))
    assert not FLAVOR.can_save(np.zeros(3))
    assert not FLAVOR.can_save(TinyNet)
    assert get_flavor("pytorch") is FLAVOR


def test_state_dict_module_with_a_non_persistent_buffer_loads_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: np.ndarray
) -> None:
    """Weights go into a meta-device module; one keeping tensors outside its state dict is rebuilt."""
    import importlib

    name = next(_module_names)
    code = tmp_path / "code"
    code.mkdir()
    (code / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            class Scaled(nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.layer = nn.Linear(3, 2)
                    self.register_buffer("scale", torch.full((2,), 3.0), persistent=False)

                def forward(self, x: torch.Tensor) -> torch.Tensor:
                    return self.layer(x) * self.scale
            """
        )
    )
    monkeypatch.syspath_prepend(str(code))
    model = importlib.import_module(name).Scaled()
    options = {"model_class": f"{name}:Scaled", "init_args": {}}
    saved = FLAVOR.save(model, _data_dir(tmp_path), serialization="state_dict", options=options)
    loaded = FLAVOR.load(tmp_path / "data", saved.config).unwrap()
    assert not any(t.is_meta for t in (*loaded.parameters(), *loaded.buffers()))
    assert np.allclose(
        FLAVOR.load(tmp_path / "data", saved.config).predict(example), _expected(model, example)
    )
