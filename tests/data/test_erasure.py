"""Erasure: rows removed into new versions, old versions marked, lineage listed, content purged."""

from __future__ import annotations

import pandas as pd
import pytest

import cairn
from cairn.data import DataClient
from cairn.data.loading import read_manifest
from cairn.entities.dataset_version import DatasetVersionStatus
from cairn.errors import InvalidArgument, NotFound
from cairn.registry.client import RegistryClient


@pytest.fixture
def data(client: cairn.TrackingClient) -> DataClient:
    return DataClient(tracking=client)


def _people(extra: int = 0) -> pd.DataFrame:
    ids = [1, 2, 123, 4, 123, *range(100, 100 + extra)]
    return pd.DataFrame({"user_id": ids, "spend": [float(i) for i in range(len(ids))]})


def test_erase_rewrites_versions_and_lists_lineage(data: DataClient, client: cairn.TrackingClient) -> None:
    run_id = client.create_run(client.create_experiment("training")).info.run_id
    first = data.log_dataset(_people(), "people", run_id=run_id)
    second = data.log_dataset(_people(extra=2), "people")
    untouched = data.log_dataset(pd.DataFrame({"user_id": [7, 8], "spend": [1.0, 2.0]}), "people")
    data.set_alias("people", "golden", first.version)
    client.log_text(run_id, "weights", "model/weights.txt")
    registry = RegistryClient(tracking=client)
    registry.create_registered_model("spender")
    model_version = registry.create_model_version("spender", f"runs:/{run_id}/model")

    result = data.erase("people", "user_id = 123")

    assert [(e.version, e.rows_removed) for e in result.erased] == [(first.version, 2), (second.version, 2)]
    assert result.runs == (run_id,)
    assert result.model_versions == (("spender", model_version.version),)
    old = data.get("people", first.version)
    assert old.status is DatasetVersionStatus.ERASED and old.profile is None
    assert old.erasure is not None and old.erasure["where"] == "user_id = 123"
    replacement = data.get("people", alias="golden")
    assert replacement.version == result.erased[0].replaced_by and replacement.derived_from == first.version
    assert data.load("people", alias="golden")["user_id"].tolist() == [1, 2, 4]
    assert 123 not in data.load("people", result.erased[1].replaced_by)["user_id"].tolist()
    assert data.get("people", untouched.version).status is DatasetVersionStatus.READY
    with pytest.raises(InvalidArgument, match="erased"):
        data.load("people", first.version)


def test_purge_deletes_only_unshared_content(data: DataClient) -> None:
    first = data.log_dataset(_people(), "people")
    shared = data.log_dataset(_people(), "copy-of-people")
    erased_blobs = {f.digest for f in read_manifest(data, first).files}
    data.erase("people", "user_id = 123")
    assert not data.store.missing_dataset_blobs(sorted(erased_blobs))
    result = data.erase("people", "user_id = 999", purge=True)
    assert result.erased == () and result.purged_blobs == 0  # the same content lives on in copy-of-people
    assert len(data.load("copy-of-people", shared.version)) == 5
    data.erase("copy-of-people", "user_id = 123", purge=True)
    assert data.store.missing_dataset_blobs(sorted(erased_blobs)) == erased_blobs
    assert data.get("people", first.version).erasure["purged"] is True  # type: ignore[index]


def test_bad_filters_and_names(data: DataClient) -> None:
    data.log_dataset(_people(), "people")
    for hostile in (
        "user_id = 1; DROP TABLE runs",
        "user_id = 'x",
        "",
        "(" * 500 + "user_id = 1" + ")" * 500,
    ):
        with pytest.raises(InvalidArgument):
            data.erase("people", hostile)
    with pytest.raises(NotFound, match="ghost"):
        data.erase("ghost", "user_id = 1")
    assert data.get("people").version == 1 and data.get("people").status is DatasetVersionStatus.READY
