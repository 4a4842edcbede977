"""Loading a scikit-learn model must not import PyTorch, and skops must trust the same estimators as usual."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("skops")

_LOAD_AND_REPORT = """
    import json, sys
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    import cairn.models
    import cairn.sklearn

    x = np.arange(40, dtype=float).reshape(20, 2)
    model = LogisticRegression().fit(x, np.arange(20) % 2)
    cairn.sklearn.save_model(model, sys.argv[1])
    loaded = cairn.models.load_model(sys.argv[1])
    same = loaded.predict(x).tolist() == model.predict(x).tolist()
    torch_loaded = "torch" in sys.modules
    from skops.io import _trusted_types
    import sklearn.externals.array_api_compat.torch as shim
    print(json.dumps({
        "torch_loaded_by_load": torch_loaded,
        "same_predictions": same,
        "estimators": sorted(_trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES),
        "shim": shim.__name__,
    }))
"""

_PLAIN_SKOPS = """
    import json
    from skops.io import _trusted_types
    print(json.dumps(sorted(_trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES)))
"""


def _run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_loading_a_sklearn_model_leaves_torch_unimported_and_trusts_every_estimator(tmp_path: Path) -> None:
    report = json.loads(_run(_LOAD_AND_REPORT, str(tmp_path / "model")))
    assert report["torch_loaded_by_load"] is False
    assert report["same_predictions"] is True
    assert report["shim"] == "sklearn.externals.array_api_compat.torch"
    plain = json.loads(_run(_PLAIN_SKOPS))
    assert len(plain) > 100
    assert report["estimators"] == plain
