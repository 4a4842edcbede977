"""A registry holding model `m` at two versions (opposite answers), `champion` on 1, for serving tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import cairn
import cairn.sklearn
from cairn.registry.client import RegistryClient

NAME = "m"
WAIT_S = 30.0
FEATURES = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.5, 1.5, 0.0, 2.0, 1.0]})
LABELS = np.array([0, 0, 0, 1, 1, 1])
BODY = {"dataframe_split": FEATURES.to_dict(orient="split")}


def log_version(labels: np.ndarray) -> None:
    """Fit a model answering `labels` on FEATURES and register it as the next version of NAME."""
    model = LogisticRegression().fit(FEATURES, labels)
    assert np.array_equal(model.predict(FEATURES), labels)
    with cairn.start_run():
        cairn.sklearn.log_model(model, "model", registered_model_name=NAME, input_example=FEATURES.head(2))


def champion_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, experiment: str) -> RegistryClient:
    """An embedded store under tmp_path: version 1 answers LABELS, version 2 the opposite; champion on 1."""
    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
    monkeypatch.setenv("CAIRN_MODEL_CACHE", str(tmp_path / "model-cache"))
    store = str(tmp_path / "store")
    cairn.set_tracking_uri(store)
    cairn.set_experiment(experiment)
    log_version(LABELS)
    log_version(1 - LABELS)
    client = RegistryClient(store)
    client.set_alias(NAME, "champion", 1)
    return client


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after WAIT_S seconds."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
