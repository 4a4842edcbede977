"""log_model on every back end: the package lands as a logged model, registers, and loads by any URI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import cairn
import cairn.models
import cairn.sklearn
from cairn.entities import LoggedModelStatus
from cairn.errors import InvalidArgument, NotFound
from cairn.models.errors import PackageTampered
from cairn.models.remote import fetch_model
from cairn.registry.client import RegistryClient
from cairn.registry.lineage import lineage_of


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})


@pytest.fixture
def model(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame, (frame["a"] > frame["b"]).astype(int))


@pytest.fixture
def store(tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CAIRN_MODEL_CACHE", str(tmp_path / "model-cache"))
    cairn.set_tracking_uri(tracking_uri)
    yield tracking_uri
    cairn.set_tracking_uri(None)


def test_log_register_alias_and_load_by_every_uri(
    store: str, model: LogisticRegression, frame: pd.DataFrame
) -> None:
    cairn.set_experiment("models")
    with cairn.start_run() as run:
        info = cairn.sklearn.log_model(
            model, "model", registered_model_name="fraud", input_example=frame.head(3)
        )
    assert info.run_id == run.info.run_id and info.flavor == "sklearn"
    assert info.registered_version is not None and info.registered_version.version == 1
    registry = RegistryClient()
    logged = registry.get_logged_model(info.model_id)
    assert logged.status is LoggedModelStatus.READY and logged.source_run_id == run.info.run_id
    assert logged.registrations == (("fraud", 1),)
    assert registry.store.get_run_outputs(run.info.run_id) == [(info.model_id, 0)]
    registry.set_alias("fraud", "champion", 1)
    expected = model.predict(frame)
    for uri in ("models:/fraud@champion", "models:/fraud/1", "models:/fraud/latest", info.model_uri):
        predicted = cairn.pyfunc.load_model(uri).predict(frame)
        assert np.array_equal(np.asarray(predicted).ravel(), expected), uri
    assert type(cairn.sklearn.load_model("models:/fraud@champion")) is LogisticRegression
    chain = lineage_of(registry, "models:/fraud@champion")
    assert chain.logged_model is not None and chain.logged_model.model_id == info.model_id
    assert chain.run is not None and chain.run.info.run_id == run.info.run_id


def test_second_load_reuses_the_cache_and_a_changed_model_is_fetched_again(
    store: str, model: LogisticRegression, frame: pd.DataFrame, tmp_path: Path
) -> None:
    with cairn.start_run():
        cairn.sklearn.log_model(model, "model", registered_model_name="cached")
    first = fetch_model("models:/cached/1")
    assert fetch_model("models:/cached/1") == first
    with cairn.start_run():
        cairn.sklearn.log_model(
            LogisticRegression(C=0.1).fit(frame, frame["a"] > 0), "model", registered_model_name="cached"
        )
    RegistryClient().set_alias("cached", "live", 2)
    assert fetch_model("models:/cached@live") != first


def test_a_tampered_cached_package_refuses_to_load_naming_the_file(
    store: str, model: LogisticRegression
) -> None:
    with cairn.start_run():
        cairn.sklearn.log_model(model, "model", registered_model_name="tampered")
    folder = fetch_model("models:/tampered/1")
    target = next(p for p in folder.rglob("*.skops"))
    target.write_bytes(target.read_bytes() + b"x")
    with pytest.raises(PackageTampered, match=target.name):
        cairn.models.load_model("models:/tampered/1")


def test_bad_model_uris_name_what_is_missing(store: str) -> None:
    with pytest.raises(NotFound, match="ghost"):
        cairn.models.load_model("models:/ghost@champion")
    with pytest.raises(InvalidArgument, match="model_uri"):
        cairn.models.load_model("models:/ghost/zero")
    with pytest.raises(InvalidArgument, match="name"):
        cairn.sklearn.log_model(LogisticRegression(), "a/b")
