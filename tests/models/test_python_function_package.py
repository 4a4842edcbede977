from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cairn.errors import InvalidArgument
from cairn.models import ModelSignature, PythonModel, PythonModelContext, load_model, save_model
from cairn.models.signature_inference import infer_signature

UserModule = Callable[[str], tuple[Path, ModuleType]]

SCALER_SOURCE = """
import yaml

from cairn.models import PythonModel


class Scaler(PythonModel):
    def __init__(self, factor):
        self.factor = factor

    def load_context(self, context):
        self.offset = float(context.model_config.get("offset", 0))

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1.0)
        return model_input["a"] * self.factor * scale + self.offset


def double_a(frame):
    return frame["a"] * 2
"""


def _forget(module: ModuleType, source: Path) -> None:
    """Make the module importable only from the package: delete its file and drop it from sys.modules."""
    source.unlink()
    sys.modules.pop(module.__name__)
    sys.path.remove(str(source.parent))


def test_class_saved_by_reference_loads_from_the_package_code(
    tmp_path: Path, user_module: UserModule, frame: pd.DataFrame
) -> None:
    source, module = user_module(SCALER_SOURCE)
    spec = save_model(
        module.Scaler(3),
        tmp_path / "model",
        code_paths=[source],
        options={"model_config": {"offset": 1}},
        input_example=frame,
    )
    assert spec.flavor == "python_function" and not spec.unsafe_format
    assert spec.flavor_config["serialization"] == "reference"
    assert spec.flavor_config["reference"] == f"{module.__name__}:Scaler"
    assert spec.flavor_config["state"] == {"factor": 3}
    assert spec.code_paths == (f"code/{source.name}",)
    assert f"PyYAML=={metadata.version('PyYAML')}" in spec.requirements
    _forget(module, source)
    loaded = load_model(tmp_path / "model")
    assert loaded.predict(frame).tolist() == (frame["a"] * 3 + 1).tolist()
    assert type(loaded.unwrap()).__module__ == module.__name__
    # Imports may leave bytecode under code/: loading deletes it (so planted bytecode never runs in
    # place of the verified source) instead of calling it tampering.
    cache = tmp_path / "model" / "code" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / f"{module.__name__}.cpython-311.pyc").write_bytes(b"not bytecode")
    assert load_model(tmp_path / "model").predict(frame.head(1)).tolist() == [1.0]
    assert not cache.exists()


def test_reference_load_in_a_fresh_interpreter(tmp_path: Path, user_module: UserModule) -> None:
    source, module = user_module(SCALER_SOURCE)
    save_model(module.double_a, tmp_path / "model", code_paths=[source])
    source.unlink()
    code = (
        "import sys\nfrom cairn.models import load_model\n"
        "print(load_model(sys.argv[1]).predict({'a': [1.5, 2.0]}).tolist())\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code, str(tmp_path / "model")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[3.0, 4.0]"


def test_package_folder_code_path(tmp_path: Path, isolated_imports: None, frame: pd.DataFrame) -> None:
    root = tmp_path / "src"
    package = root / f"cairn_user_pkg_{tmp_path.name}"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "inner" / "__init__.py").write_text("")
    (package / "inner" / "scoring.py").write_text(SCALER_SOURCE)
    sys.path.insert(0, str(root))
    module = importlib.import_module(f"{package.name}.inner.scoring")
    spec = save_model(module.Scaler(5), tmp_path / "model", code_paths=[package])
    assert spec.flavor_config["reference"] == f"{package.name}.inner.scoring:Scaler"
    assert f"code/{package.name}/inner/scoring.py" in spec.files
    for name in [n for n in sys.modules if n.startswith(package.name)]:
        del sys.modules[name]
    sys.path.remove(str(root))
    shutil.rmtree(root)
    assert load_model(tmp_path / "model").predict(frame.head(2)).tolist() == [0.0, 5.0]


def test_local_class_is_cloudpickled(tmp_path: Path, frame: pd.DataFrame) -> None:
    class AddOne(PythonModel):
        def predict(
            self, context: PythonModelContext, model_input: Any, params: Mapping[str, Any] | None = None
        ) -> Any:
            return model_input["a"] + 1

    spec = save_model(AddOne(), tmp_path / "model")
    assert spec.flavor_config["serialization"] == "cloudpickle" and spec.unsafe_format
    assert f"cloudpickle=={metadata.version('cloudpickle')}" in spec.requirements
    assert load_model(tmp_path / "model").predict(frame).tolist() == (frame["a"] + 1).tolist()
    with pytest.raises(InvalidArgument, match="unsafe format"):
        load_model(tmp_path / "model", allow_pickle_from_verified=False)


def test_reference_impossible_falls_back_or_is_refused_when_demanded(
    tmp_path: Path, user_module: UserModule
) -> None:
    source, module = user_module(SCALER_SOURCE)
    heavy = module.Scaler(np.arange(3))
    spec = save_model(heavy, tmp_path / "fallback", code_paths=[source])
    assert spec.flavor_config["serialization"] == "cloudpickle"
    with pytest.raises(InvalidArgument, match="attributes are not plain JSON values"):
        save_model(heavy, tmp_path / "refused", code_paths=[source], serialization="reference")
    with pytest.raises(InvalidArgument, match="not defined in a module among the code_paths"):
        save_model(module.Scaler(1), tmp_path / "refused", serialization="reference")
    assert not (tmp_path / "refused").exists()


def test_plain_functions(tmp_path: Path, user_module: UserModule, frame: pd.DataFrame) -> None:
    source, module = user_module(SCALER_SOURCE)
    by_reference = save_model(module.double_a, tmp_path / "ref", code_paths=[source])
    assert by_reference.flavor_config == {
        "kind": "function",
        "input_kind": "dataframe",
        "model_config": {},
        "artifacts": {},
        "serialization": "reference",
        "reference": f"{module.__name__}:double_a",
        "state": None,
    }
    assert load_model(tmp_path / "ref").predict(frame).tolist() == (frame["a"] * 2).tolist()
    pickled = save_model(lambda df: df["b"] - 1, tmp_path / "lambda")
    assert pickled.flavor_config["serialization"] == "cloudpickle"
    assert load_model(tmp_path / "lambda").predict(frame).tolist() == (frame["b"] - 1).tolist()


def test_artifacts_are_copied_and_handed_to_load_context(tmp_path: Path, frame: pd.DataFrame) -> None:
    (tmp_path / "weights.txt").write_text("10")
    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "words.txt").write_text("alpha\nbeta\n")

    class Weighted(PythonModel):
        def load_context(self, context: PythonModelContext) -> None:
            self.weights_path = context.artifacts["weights"]
            self.weight = float(Path(self.weights_path).read_text())
            self.words = (Path(context.artifacts["vocab"]) / "words.txt").read_text().split()

        def predict(
            self, context: PythonModelContext, model_input: Any, params: Mapping[str, Any] | None = None
        ) -> Any:
            return model_input["a"] * self.weight + len(self.words)

    spec = save_model(
        Weighted(),
        tmp_path / "model",
        artifacts={"weights": tmp_path / "weights.txt", "vocab": (tmp_path / "vocab").as_uri()},
    )
    assert {"data/artifacts/weights/weights.txt", "data/artifacts/vocab/vocab/words.txt"} <= set(spec.files)
    (tmp_path / "weights.txt").write_text("99")
    loaded = load_model(tmp_path / "model")
    assert loaded.predict(frame.head(2)).tolist() == [2.0, 12.0]
    assert Path(loaded.unwrap().weights_path).is_relative_to(tmp_path / "model" / "data" / "artifacts")
    with pytest.raises(InvalidArgument, match="artifact 'x': only local paths and file: URIs"):
        save_model(Weighted(), tmp_path / "bad", artifacts={"x": "s3://bucket/key"})
    with pytest.raises(InvalidArgument, match="artifact name '../up' must be"):
        save_model(Weighted(), tmp_path / "bad", artifacts={"../up": tmp_path / "weights.txt"})


def test_params_follow_the_signature(tmp_path: Path, user_module: UserModule, frame: pd.DataFrame) -> None:
    source, module = user_module(SCALER_SOURCE)
    signature = infer_signature(frame, params={"scale": 1.0})
    save_model(module.Scaler(2), tmp_path / "model", code_paths=[source], signature=signature)
    loaded = load_model(tmp_path / "model")
    assert loaded.predict(frame.head(2)).tolist() == [0.0, 2.0]
    assert loaded.predict(frame.head(2), params={"scale": 10}).tolist() == [0.0, 20.0]
    with pytest.raises(InvalidArgument, match="param 'speed' is not in the model signature"):
        loaded.predict(frame, params={"speed": 1})


def test_native_input_kind_passes_data_unchanged_after_checks(tmp_path: Path) -> None:
    def shout(texts: Any) -> Any:
        return [f"{type(texts).__name__}:{text.upper()}" for text in texts]

    save_model(shout, tmp_path / "model", input_example=["hi"], options={"input_kind": "native"})
    loaded = load_model(tmp_path / "model")
    result = loaded.predict(["a", "b"])
    assert isinstance(result, np.ndarray) and result.tolist() == ["list:A", "list:B"]
    assert isinstance(loaded.signature, ModelSignature)
    assert loaded.signature.outputs[0].to_dict()["dtype"] == "str"
    with pytest.raises(InvalidArgument, match="column 0 expected string, got int64"):
        loaded.predict([1, 2])


def test_python_function_option_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="python_function options: unknown colour"):
        save_model(len, tmp_path / "a", options={"colour": 1})
    with pytest.raises(InvalidArgument, match="input_kind must be one of"):
        save_model(len, tmp_path / "a", options={"input_kind": "tensor"})
    with pytest.raises(InvalidArgument, match="model_config must be JSON-serialisable"):
        save_model(len, tmp_path / "a", options={"model_config": {"x": object()}})
    with pytest.raises(InvalidArgument, match="no flavor knows how to save a builtins.int"):
        save_model(3, tmp_path / "a")
    assert not (tmp_path / "a").exists()
