"""Batch scoring of CSV, Parquet and JSON-lines files in chunks, by function and by `cairn models predict`."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import cairn
from cairn.cli.main import cli
from cairn.cli.models_predict import FORMAT_CHOICE
from cairn.errors import AlreadyExists, CairnError, InvalidArgument, NotFound
from cairn.models import LoadedModel
from cairn.serving.batch_scoring import FORMATS, score_file


def _rows(count: int, seed: int = 0) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    return pd.DataFrame({"a": generator.normal(3, 2, count), "b": generator.normal(1, 1, count)})


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        path.write_text(
            "".join(json.dumps(record) + "\n" for record in frame.to_dict(orient="records")),
            encoding="utf-8",
        )
    return path


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    return pd.DataFrame.from_records([json.loads(line) for line in lines])


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_inputs_and_adds_predictions(
    tmp_path: Path, sklearn_model: LoadedModel, fmt: str
) -> None:
    frame = _rows(50)
    source = _write(frame, tmp_path / f"in.{fmt}")
    target = tmp_path / f"out.{fmt}"
    summary = score_file(sklearn_model, source, target)
    assert (summary.rows, summary.chunks) == (50, 1) and summary.seconds >= 0
    scored = _read(target)
    assert list(scored.columns) == ["a", "b", "prediction"]
    np.testing.assert_array_equal(scored[["a", "b"]].to_numpy(), frame.to_numpy())
    np.testing.assert_array_equal(scored["prediction"].to_numpy(), sklearn_model.predict(frame))
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_small_chunks_give_the_same_output_as_one(
    tmp_path: Path, sklearn_model: LoadedModel, fmt: str
) -> None:
    source = _write(_rows(50, seed=1), tmp_path / f"in.{fmt}")
    seen: list[tuple[int, int | None]] = []
    small = score_file(
        sklearn_model, source, tmp_path / f"small.{fmt}", chunk_rows=7, progress=lambda *a: seen.append(a)
    )
    whole = score_file(sklearn_model, source, tmp_path / f"whole.{fmt}", chunk_rows=1000)
    assert (small.rows, small.chunks, whole.chunks) == (50, 8, 1)
    total = 50 if fmt == "parquet" else None
    assert seen == [(min(7 * n, 50), total) for n in range(1, 9)]
    if fmt == "parquet":
        pd.testing.assert_frame_equal(_read(tmp_path / "small.parquet"), _read(tmp_path / "whole.parquet"))
        assert pq.ParquetFile(tmp_path / "small.parquet").metadata.num_row_groups == 8
    else:
        assert (tmp_path / f"small.{fmt}").read_bytes() == (tmp_path / f"whole.{fmt}").read_bytes()


def test_formats_convert_and_frame_outputs_keep_their_columns(
    tmp_path: Path, scaled_sum_model: LoadedModel
) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 30.0], "y": [0.5, np.nan, 4.0]})
    source = _write(frame, tmp_path / "in.csv")
    score_file(scaled_sum_model, source, tmp_path / "out.data", output_format="parquet", chunk_rows=2)
    scored = pd.read_parquet(tmp_path / "out.data")
    assert list(scored.columns) == ["x", "y", "total", "label"]
    assert scored["label"].tolist() == ["low", "low", "high"]
    score_file(scaled_sum_model, source, tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1]) == {"x": 2.0, "y": None, "total": 2.0, "label": "low"}


def test_memory_stays_flat_in_the_input_size(tmp_path: Path, sklearn_model: LoadedModel) -> None:
    rows = 200_000
    generator = np.random.default_rng(2)
    columns = {name: generator.normal(size=rows) for name in ("a", "b", "c", "d", "e", "f")}
    table = pa.table(columns)
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=20_000)
    whole_frame_bytes = rows * (len(columns) + 1) * 8  # every input column plus the prediction, float64
    del table, columns
    tracemalloc.start()
    try:
        summary = score_file(sklearn_model, tmp_path / "big.parquet", tmp_path / "out.parquet")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (summary.rows, summary.chunks) == (rows, 20)
    assert peak < whole_frame_bytes / 5, (peak, whole_frame_bytes)
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_rows == rows


def test_a_chunk_that_fails_the_signature_names_its_first_row_and_leaves_nothing(
    tmp_path: Path, sklearn_model: LoadedModel
) -> None:
    frame = _rows(30).astype({"a": object})
    frame.loc[23, "a"] = "not a number"
    source = _write(frame, tmp_path / "in.jsonl")
    target = tmp_path / "out.parquet"
    with pytest.raises(InvalidArgument, match=r"chunk starting at row 21 .*'a'"):
        score_file(sklearn_model, source, target, chunk_rows=7)
    assert not target.exists() and _leftovers(tmp_path) == []
    with pytest.raises(InvalidArgument, match="chunk starting at row 0 .*'b'"):
        score_file(sklearn_model, _write(_rows(5)[["a"]], tmp_path / "no_b.csv"), target)
    assert not target.exists() and _leftovers(tmp_path) == []


def test_a_failing_model_or_unreadable_input_leaves_nothing(
    tmp_path: Path, sklearn_model: LoadedModel, broken_model: LoadedModel
) -> None:
    source = _write(_rows(10), tmp_path / "in.csv")
    with pytest.raises(CairnError, match="chunk starting at row 0 .*RuntimeError: the model broke"):
        score_file(broken_model, source, tmp_path / "out.csv")
    (tmp_path / "bad.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(InvalidArgument, match="cannot read it as parquet"):
        score_file(sklearn_model, tmp_path / "bad.parquet", tmp_path / "out.csv")
    (tmp_path / "empty.csv").write_text("a,b\n", encoding="utf-8")
    with pytest.raises(InvalidArgument, match="holds no rows"):
        score_file(sklearn_model, tmp_path / "empty.csv", tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet", "empty.csv", "in.csv"]


def test_an_existing_output_is_kept_unless_overwrite(tmp_path: Path, sklearn_model: LoadedModel) -> None:
    source = _write(_rows(5), tmp_path / "in.csv")
    target = tmp_path / "out.csv"
    target.write_text("keep me\n", encoding="utf-8")
    with pytest.raises(AlreadyExists, match="out.csv.*overwrite"):
        score_file(sklearn_model, source, target)
    assert target.read_text(encoding="utf-8") == "keep me\n"
    score_file(sklearn_model, source, target, overwrite=True)
    assert len(pd.read_csv(target)) == 5 and _leftovers(tmp_path) == []


def test_unknown_formats_missing_input_and_bad_chunk_size(tmp_path: Path, sklearn_model: LoadedModel) -> None:
    source = _write(_rows(5), tmp_path / "in.csv")
    with pytest.raises(InvalidArgument, match=r"output .*'\.txt'"):
        score_file(sklearn_model, source, tmp_path / "out.txt")
    with pytest.raises(InvalidArgument, match="input_format 'xml'"):
        score_file(sklearn_model, source, tmp_path / "out.csv", input_format="xml")
    with pytest.raises(InvalidArgument, match="chunk_rows"):
        score_file(sklearn_model, source, tmp_path / "out.csv", chunk_rows=0)
    with pytest.raises(NotFound, match="missing.csv"):
        score_file(sklearn_model, tmp_path / "missing.csv", tmp_path / "out.csv")
    assert list(FORMAT_CHOICE.choices) == list(FORMATS)


def test_cli_scores_a_package_folder(tmp_path: Path, sklearn_package: Path) -> None:
    runner = CliRunner()
    source = _write(_rows(25), tmp_path / "in.parquet")
    target = tmp_path / "out.csv"
    args = ["models", "predict", str(sklearn_package), "--input", str(source), "--output", str(target)]
    result = runner.invoke(cli, [*args, "--chunk-rows", "10"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Scored 25 rows in 3 chunk(s)" in result.stdout
    assert "25 / 25 rows" in result.stderr
    assert len(pd.read_csv(target)) == 25
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 1 and "--overwrite" in refused.stderr
    assert "Traceback" not in refused.output
    replaced = runner.invoke(cli, [*args, "--overwrite", "--output-format", "jsonl", "--chunk-rows", "100"])
    assert replaced.exit_code == 0, (replaced.output, replaced.exception)
    assert len(target.read_text(encoding="utf-8").splitlines()) == 25


def test_cli_scores_a_registered_model_by_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, features: pd.DataFrame
) -> None:
    from sklearn.linear_model import LogisticRegression

    from cairn.models.log_model import log_model

    monkeypatch.setenv("CAIRN_MODEL_CACHE", str(tmp_path / "cache"))
    store = str(tmp_path / "store")
    model = LogisticRegression().fit(features, [0, 1, 0, 1, 0, 1])
    tracking = cairn.TrackingClient(store)
    run_id = tracking.create_run(tracking.create_experiment("scoring")).info.run_id
    log_model(
        model,
        "model",
        registered_model_name="churn",
        run_id=run_id,
        tracking_uri=store,
        input_example=features,
    )
    source = _write(_rows(12), tmp_path / "in.jsonl")
    result = CliRunner().invoke(
        cli,
        ["--tracking-uri", store, "models", "predict", "models:/churn/1"]
        + ["--input", str(source), "--output", str(tmp_path / "out.parquet")],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert "12 rows" in result.stderr
    scored = pd.read_parquet(tmp_path / "out.parquet")
    np.testing.assert_array_equal(scored["prediction"].to_numpy(), model.predict(_rows(12)))
