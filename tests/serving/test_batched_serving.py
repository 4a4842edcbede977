"""The scoring app with micro-batching and prediction events wired in, on a real server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
from scoring_server import serving

from cairn.models import LoadedModel
from cairn.serving.app import BatchingOptions, create_scoring_app
from cairn.serving.events import EventRecorder
from cairn.serving.invocations_route import INLINE_BODY_BYTES
from cairn.serving.parquet_sink import ParquetEventSink
from cairn.store.artifacts import artifact_store_for


def _split(frame: pd.DataFrame) -> dict[str, object]:
    return {"dataframe_split": {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}}


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(
    sklearn_model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    recorder = EventRecorder(
        ParquetEventSink(artifact_store_for(str(tmp_path / "events"))), flush_seconds=0.1
    )
    app = create_scoring_app(
        sklearn_model,
        model_name="classifier",
        model_version="3",
        batching=BatchingOptions(max_batch_size=16, max_wait_ms=50),
        events=recorder,
    )
    expected = np.asarray(sklearn_model.predict(features)).ravel().tolist()
    answers: dict[int, object] = {}
    with serving(app) as client:

        def ask(index: int) -> None:
            row = features.iloc[[index % len(features)]]
            answers[index] = client.post("/invocations", json=_split(row)).json()

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        bad = client.post("/invocations", json=_split(features.rename(columns={"a": "z"})))
        metrics = client.get("/metrics").text
    assert all(answers[i] == {"predictions": [expected[i % len(features)]]} for i in range(24))
    assert bad.status_code == 400 and "a" in bad.json()["message"]
    assert 'cairn_serving_batches_total{model_version="3",reason=' in metrics
    assert "cairn_serving_batch_rows_bucket" in metrics
    recorder.close()
    assert recorder.stats().written == 24
    table = ds.dataset(
        str(tmp_path / "events" / "predictions"), format="parquet", partitioning="hive"
    ).to_table()
    assert table.num_rows == 24
    assert set(table.column("model_name").to_pylist()) == {"classifier"}
    assert sorted(table.column("prediction").to_pylist()) == sorted(
        float(expected[i % len(features)]) for i in range(24)
    )


def test_a_failing_model_behind_the_batcher_answers_500_and_keeps_serving(
    broken_model: LoadedModel, sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    app = create_scoring_app(broken_model, batching=BatchingOptions(max_batch_size=8, max_wait_ms=5))
    with serving(app) as client:
        first = client.post("/invocations", json=_split(features.head(2)))
        second = client.post("/invocations", json=_split(features.head(1)))
        health = client.get("/health")
    assert first.status_code == second.status_code == 500
    assert "request id" in first.json()["message"]
    assert health.status_code == 200


def test_with_batching_small_large_csv_and_malformed_bodies_all_get_their_answers(
    sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    many = features
    while len(json.dumps(_split(many))) <= INLINE_BODY_BYTES:  # decoded on a thread, not on the loop
        many = pd.concat([many, many], ignore_index=True)
    app = create_scoring_app(sklearn_model, batching=BatchingOptions(max_batch_size=8, max_wait_ms=5))
    with serving(app) as client:
        small = client.post("/invocations", json=_split(features.head(3)))
        large = client.post("/invocations", json=_split(many))
        csv = client.post(
            "/invocations", content=features.head(4).to_csv(index=False), headers={"Content-Type": "text/csv"}
        )
        malformed = client.post(
            "/invocations", content=b'{"dataframe_split": {', headers={"Content-Type": "application/json"}
        )
    expected = np.asarray(sklearn_model.predict(many)).ravel().tolist()
    assert small.json() == {"predictions": expected[:3]}
    assert large.status_code == 200 and large.json() == {"predictions": expected}
    assert csv.json() == {"predictions": expected[:4]}
    assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["message"]
