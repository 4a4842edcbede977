"""Artifacts through TrackingClient on every back end: logging, digests, listing, downloads, hostile paths."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cairn.errors import InvalidArgument, NotFound
from cairn.tracking.client import TrackingClient


@pytest.fixture
def run_id(client: TrackingClient) -> str:
    return client.create_run("0").info.run_id


def test_log_file_and_folder_with_digests(client: TrackingClient, run_id: str, tmp_path: Path) -> None:
    data = tmp_path / "weights.bin"
    data.write_bytes(b"\x00\x01" * 5000)
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("bb")
    client.log_artifact(run_id, data, "model")
    client.log_artifact(run_id, folder)
    client.log_artifacts(run_id, folder, "again")
    top = {a.path: a for a in client.list_artifacts(run_id)}
    assert set(top) == {"again", "model", "plots"} and all(a.is_dir for a in top.values())
    (weights,) = client.list_artifacts(run_id, "model")
    assert weights.path == "model/weights.bin" and weights.file_size == 10_000
    assert weights.sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
    assert [a.path for a in client.list_artifacts(run_id, "again/sub")] == ["again/sub/b.txt"]
    local = Path(client.download_artifacts(run_id, "plots", tmp_path / "out"))
    assert (local / "sub" / "b.txt").read_text() == "bb"


def test_serialised_objects(client: TrackingClient, run_id: str, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    client.log_text(run_id, "héllo", "notes/readme.txt")
    client.log_dict(run_id, {"lr": 0.1, "layers": [1, 2]}, "config.json")
    client.log_dict(run_id, {"lr": 0.1}, "config.yaml")
    client.log_image(run_id, np.random.default_rng(0).random((4, 5, 3)), "img.png")
    client.log_table(run_id, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "table.parquet")
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    client.log_figure(run_id, figure, "plot.png")
    plt.close(figure)
    out = Path(client.download_artifacts(run_id, "", tmp_path / "all"))
    assert (out / "notes" / "readme.txt").read_text() == "héllo"
    assert json.loads((out / "config.json").read_text()) == {"lr": 0.1, "layers": [1, 2]}
    assert yaml.safe_load((out / "config.yaml").read_text()) == {"lr": 0.1}
    assert (out / "img.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pd.read_parquet(out / "table.parquet")["b"].tolist() == ["x", "y"]


def test_bad_serialisations_are_refused(client: TrackingClient, run_id: str) -> None:
    with pytest.raises(InvalidArgument, match="in \\[0, 1\\]"):
        client.log_image(run_id, np.full((2, 2), 3.0), "bad.png")
    with pytest.raises(InvalidArgument, match="parquet"):
        client.log_table(run_id, {"a": [1]}, "table.csv")
    with pytest.raises(InvalidArgument, match="json"):
        client.log_dict(run_id, {"a": 1}, "config.toml")
    assert client.list_artifacts(run_id) == []


@pytest.mark.parametrize(
    "hostile",
    [
        "../escape.txt",
        "/etc/passwd",
        "a/../../b.txt",
        "..%2fescape",
        "a\\..\\b",
        "file:/etc/passwd",
        "x?y",
        "x#y",
    ],
)
def test_hostile_artifact_paths_write_nothing(client: TrackingClient, run_id: str, hostile: str) -> None:
    with pytest.raises(InvalidArgument):
        client.log_text(run_id, "pwned", hostile)
    with pytest.raises(InvalidArgument):
        client.list_artifacts(run_id, hostile)
    assert client.list_artifacts(run_id) == []


def test_missing_things(client: TrackingClient, run_id: str, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nope"):
        client.log_artifact(run_id, tmp_path / "nope")
    with pytest.raises(NotFound):
        client.download_artifacts(run_id, "absent.txt", tmp_path / "d")
    with pytest.raises(NotFound):
        client.log_text("a" * 32, "x", "x.txt")
