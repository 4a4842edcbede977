"""Flavor modules import their ML library only when a model is saved or loaded, and name missing extras."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cairn.errors import MissingExtra
from cairn.models.flavor import get_flavor


def test_importing_the_flavors_imports_no_ml_library() -> None:
    script = textwrap.dedent(
        """
        import sys
        from cairn.models.flavor import get_flavor

        flavors = [get_flavor(name) for name in ("xgboost", "lightgbm", "pytorch", "onnx")]
        assert [flavor.can_save(object()) for flavor in flavors] == [False] * 4
        heavy = {"xgboost", "lightgbm", "torch", "onnx", "onnxruntime", "sklearn", "pandas"}
        print(sorted(heavy & set(sys.modules)))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("flavor_name", "library", "extra"),
    [
        ("xgboost", "xgboost", "xgboost"),
        ("lightgbm", "lightgbm", "lightgbm"),
        ("pytorch", "torch", "pytorch"),
        ("onnx", "onnx", "onnx"),
        ("onnx", "onnxruntime", "onnx"),
    ],
)
def test_a_missing_library_names_the_extra_to_install(
    flavor_name: str, library: str, extra: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flavor = get_flavor(flavor_name)
    monkeypatch.setitem(sys.modules, library, None)  # makes `import <library>` raise ImportError
    with pytest.raises(
        MissingExtra, match=rf"{library} is not installed; run: pip install 'cairn\[{extra}\]'"
    ):
        if library == "onnxruntime":
            flavor.load(tmp_path, {"serialization": "onnx", "file": "model.onnx"})
        else:
            flavor.save(object(), tmp_path)
