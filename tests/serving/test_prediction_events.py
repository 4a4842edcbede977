"""Prediction events: the non-blocking recorder and the partitioned Parquet sink."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from cairn.errors import InvalidArgument
from cairn.serving.events import EventRecorder, PredictionEvent
from cairn.serving.parquet_sink import ParquetEventSink
from cairn.store.artifacts import artifact_store_for

# 2024-03-05 07:15:00 UTC and 2024-03-05 08:00:01 UTC
T0 = int(datetime(2024, 3, 5, 7, 15, tzinfo=UTC).timestamp() * 1000)
T1 = int(datetime(2024, 3, 5, 8, 0, 1, tzinfo=UTC).timestamp() * 1000)


def _event(
    request_id: str = "r1",
    *,
    inputs: pd.DataFrame | None = None,
    outputs: object = None,
    timestamp_ms: int = T0,
    version: str = "3",
) -> PredictionEvent:
    frame = inputs if inputs is not None else pd.DataFrame({"age": [30, 41], "email": ["a@x", "b@x"]})
    return PredictionEvent(
        request_id=request_id,
        timestamp_ms=timestamp_ms,
        model_name="churn",
        model_version=version,
        inputs=frame,
        outputs=outputs if outputs is not None else np.array([0, 1]),
        latency_ms=2.5,
    )


class ListSink:
    """Keeps every batch it is given, in memory (a real sink; the recorder cannot tell the difference)."""

    def __init__(self) -> None:
        self.batches: list[list[PredictionEvent]] = []
        self.closed = False

    def write(self, events: Sequence[PredictionEvent]) -> None:
        self.batches.append(list(events))

    def close(self) -> None:
        self.closed = True

    @property
    def events(self) -> list[PredictionEvent]:
        return [event for batch in self.batches for event in batch]


class GatedSink(ListSink):
    """Blocks inside `write` until the test opens the gate: a sink that is slower than the traffic."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def write(self, events: Sequence[PredictionEvent]) -> None:
        self.entered.set()
        assert self.gate.wait(timeout=30), "the test never opened the gate"
        super().write(events)


class FailingFirstSink(ListSink):
    """Raises on its first `failures` writes, then stores normally."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def write(self, events: Sequence[PredictionEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        super().write(events)


def _read(root: Path | str, prefix: str = "predictions") -> pa.Table:
    """Read every file, unifying schemas (files of one version may differ in which columns they hold)."""
    source = f"{root}/{prefix}" if isinstance(root, str) else str(root / prefix)
    dataset = ds.dataset(source, format="parquet", partitioning="hive")
    schema = pa.unify_schemas([f.physical_schema for f in dataset.get_fragments()] + [dataset.schema])
    return ds.dataset(source, schema=schema, format="parquet", partitioning="hive").to_table()


def test_events_land_as_partitioned_parquet(tmp_path: Path) -> None:
    sink = ParquetEventSink(artifact_store_for(str(tmp_path)))
    recorder = EventRecorder(sink, batch_size=100, flush_seconds=60)
    recorder.record(_event("r1"))
    recorder.record(_event("r2", inputs=pd.DataFrame({"age": [7.5], "email": ["c@x"]}), outputs=[1]))
    recorder.record(_event("r3", timestamp_ms=T1, version="4"))
    recorder.close()

    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert [f.rsplit("/", 1)[0] for f in files] == [
        "predictions/model=churn/version=3/date=2024-03-05/hour=07",
        "predictions/model=churn/version=4/date=2024-03-05/hour=08",
    ]
    table = _read(tmp_path).sort_by([("request_id", "ascending"), ("row", "ascending")])
    rows = table.to_pylist()
    assert [(r["request_id"], r["row"], r["input_age"], r["prediction"]) for r in rows] == [
        ("r1", 0, 30.0, 0.0),
        ("r1", 1, 41.0, 1.0),
        ("r2", 0, 7.5, 1.0),
        ("r3", 0, 30.0, 0.0),
        ("r3", 1, 41.0, 1.0),
    ]
    assert rows[0]["timestamp_ms"] == T0 and rows[0]["latency_ms"] == 2.5
    assert rows[0]["model_name"] == "churn" and rows[0]["model_version"] == "3"
    assert rows[0]["version"] == 3 and rows[3]["hour"] == 8
    assert table.schema.field("input_age").type == pa.float64()
    assert recorder.stats().written == 3


def test_schema_is_stable_across_files_of_one_version(tmp_path: Path) -> None:
    sink = ParquetEventSink(artifact_store_for(str(tmp_path)))
    ints = pd.DataFrame({"n": [1, 2], "flag": [True, False], "when": pd.to_datetime(["2024-01-01"] * 2)})
    floats = pd.DataFrame({"n": [0.5], "flag": [None], "when": [pd.Timestamp("2024-01-02", tz="UTC")]})
    sink.write([_event("a", inputs=ints)])
    sink.write([_event("b", inputs=floats, outputs=np.array([0]))])
    sink.write([_event("c", inputs=pd.DataFrame({"n": [None]}), outputs=np.array([1]))])

    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) == 3
    schemas = [ds.dataset(str(f), format="parquet").schema for f in files]
    for schema in schemas:
        assert schema.field("input_n").type == pa.float64()
        assert schema.field("prediction").type == pa.float64()
    flags = [s.field("input_flag").type for s in schemas if "input_flag" in s.names]
    whens = [s.field("input_when").type for s in schemas if "input_when" in s.names]
    assert flags == [pa.bool_(), pa.bool_()]
    assert whens == [pa.timestamp("us", tz="UTC")] * 2


def test_multi_output_and_odd_values_are_flattened(tmp_path: Path) -> None:
    sink = ParquetEventSink(artifact_store_for(str(tmp_path)), prefix="logs/preds")
    inputs = pd.DataFrame({"tags": [["a", "b"], ["c"]], "mixed": [1, "x"]})
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8]])
    sink.write([_event("m", inputs=inputs, outputs=probabilities)])
    sink.write([_event("d", outputs=pd.DataFrame({"label": ["no", "yes"], "score": [0.1, 0.7]}))])

    rows = _read(tmp_path, "logs/preds").sort_by([("request_id", "ascending"), ("row", "ascending")])
    got = rows.select(["request_id", "output_0", "output_1", "output_label", "output_score"]).to_pylist()
    assert got == [
        {"request_id": "d", "output_0": None, "output_1": None, "output_label": "no", "output_score": 0.1},
        {"request_id": "d", "output_0": None, "output_1": None, "output_label": "yes", "output_score": 0.7},
        {"request_id": "m", "output_0": 0.9, "output_1": 0.1, "output_label": None, "output_score": None},
        {"request_id": "m", "output_0": 0.2, "output_1": 0.8, "output_label": None, "output_score": None},
    ]
    m_rows = [r for r in rows.to_pylist() if r["request_id"] == "m"]
    assert [r["input_tags"] for r in m_rows] == ['["a", "b"]', '["c"]']
    assert [r["input_mixed"] for r in m_rows] == ["1", "x"]


def test_unsafe_names_become_safe_partition_values(tmp_path: Path) -> None:
    sink = ParquetEventSink(artifact_store_for(str(tmp_path)))
    sink.write([dataclasses.replace(_event(), model_name="../team/churn 2", model_version="..")])
    (file,) = tmp_path.rglob("*.parquet")
    assert file.relative_to(tmp_path).parts[:3] == ("predictions", "model=_._team_churn_2", "version=_.")
    assert ds.dataset(str(file)).to_table()["model_name"][0].as_py() == "../team/churn 2"


def test_sampling_is_exact_with_a_seed() -> None:
    sink = ListSink()
    recorder = EventRecorder(sink, sample_rate=0.25, seed=11, flush_seconds=60)
    for i in range(2000):
        recorder.record(_event(f"r{i}"))
    recorder.close()

    draws = random.Random(11)
    expected = [f"r{i}" for i in range(2000) if draws.random() < 0.25]
    assert [e.request_id for e in sink.events] == expected
    assert 400 < len(expected) < 600
    stats = recorder.stats()
    assert (stats.recorded, stats.sampled_out, stats.written) == (
        len(expected),
        2000 - len(expected),
        len(expected),
    )


def test_denied_and_unlisted_columns_are_never_written(tmp_path: Path) -> None:
    inputs = pd.DataFrame({"age": [30], "email": ["a@x"], "name": ["Ann"], "plan": ["pro"]})
    for allow, deny, kept in [
        (None, ["email", "name"], {"input_age", "input_plan"}),
        (["age", "email"], ["email"], {"input_age"}),
    ]:
        root = tmp_path / f"allow-{allow is not None}"
        recorder = EventRecorder(
            ParquetEventSink(artifact_store_for(str(root))), allow_columns=allow, deny_columns=deny
        )
        recorder.record(_event(inputs=inputs, outputs=[1]))
        recorder.close()
        table = _read(root)
        assert {n for n in table.column_names if n.startswith("input_")} == kept
        raw = b"".join(p.read_bytes() for p in root.rglob("*.parquet"))
        assert b"a@x" not in raw and b"Ann" not in raw
    assert list(inputs.columns) == ["age", "email", "name", "plan"]  # the caller's frame is untouched


def test_column_lists_apply_to_array_inputs() -> None:
    sink = ListSink()
    recorder = EventRecorder(sink, deny_columns=["1"])
    recorder.record(_event(inputs=np.array([[1.0, 2.0, 3.0]]), outputs=[0]))  # type: ignore[arg-type]
    recorder.close()
    assert [str(c) for c in sink.events[0].inputs.columns] == ["0", "2"]


def test_slow_sink_never_blocks_record_and_overflow_is_dropped() -> None:
    sink = GatedSink()
    recorder = EventRecorder(sink, max_queue=5, batch_size=1, flush_seconds=60)
    recorder.record(_event("first"))
    assert sink.entered.wait(timeout=30)  # the writer thread is now stuck inside the sink
    for i in range(20):
        recorder.record(_event(f"r{i}"))  # would hang here if record waited for the sink
    stats = recorder.stats()
    assert (stats.recorded, stats.dropped, stats.queued, stats.written) == (6, 15, 5, 0)
    sink.gate.set()
    recorder.close()
    assert [e.request_id for e in sink.events] == ["first", "r0", "r1", "r2", "r3", "r4"]
    assert recorder.stats().written == 6


def test_sink_errors_are_counted_and_recording_goes_on() -> None:
    sink = FailingFirstSink(failures=2)
    recorder = EventRecorder(sink, batch_size=2, flush_seconds=60)
    for i in range(6):
        recorder.record(_event(f"r{i}"))
    assert recorder.flush(timeout=30)
    recorder.record(_event("late"))
    recorder.close()
    stats = recorder.stats()
    assert (stats.write_errors, stats.lost, stats.written) == (2, 4, 3)
    assert [e.request_id for e in sink.events] == ["r4", "r5", "late"]


def test_close_flushes_a_partial_batch_and_closes_the_sink() -> None:
    sink = ListSink()
    recorder = EventRecorder(sink, batch_size=1000, flush_seconds=3600)
    for i in range(3):
        recorder.record(_event(f"r{i}"))
    recorder.close()
    assert [e.request_id for e in sink.events] == ["r0", "r1", "r2"]
    assert sink.closed
    recorder.record(_event("after"))
    assert recorder.stats().dropped == 1
    assert not recorder.flush(timeout=1)
    recorder.close()  # a second close is harmless


def test_flush_seconds_releases_a_batch_before_it_is_full() -> None:
    sink = ListSink()
    recorder = EventRecorder(sink, batch_size=1000, flush_seconds=0.05)
    recorder.record(_event("r0"))
    recorder.record(_event("r1"))
    deadline = threading.Event()
    for _ in range(600):  # wait (up to 30 s) for the timer, not for close
        if sink.batches:
            break
        deadline.wait(0.05)
    assert [e.request_id for e in sink.events] == ["r0", "r1"]
    recorder.close()


@pytest.mark.parametrize(
    ("argument", "value"),
    [("sample_rate", 1.5), ("max_queue", 0), ("batch_size", 0), ("flush_seconds", 0.0)],
)
def test_bad_settings_are_refused(argument: str, value: float) -> None:
    with pytest.raises(InvalidArgument, match=argument):
        EventRecorder(ListSink(), **{argument: value})  # type: ignore[arg-type]


def test_closed_parquet_sink_refuses_writes(tmp_path: Path) -> None:
    sink = ParquetEventSink(artifact_store_for(str(tmp_path)))
    sink.close()
    with pytest.raises(InvalidArgument, match="closed"):
        sink.write([_event()])
    with pytest.raises(InvalidArgument, match="prefix"):
        ParquetEventSink(artifact_store_for(str(tmp_path)), prefix="../out")


def test_events_land_in_s3(s3_bucket: str, moto_s3: object) -> None:
    import s3fs

    recorder = EventRecorder(ParquetEventSink(artifact_store_for(f"s3://{s3_bucket}/serving")))
    recorder.record(_event("s3-1"))
    recorder.close()

    keys = moto_s3.keys(s3_bucket)  # type: ignore[attr-defined]
    assert len(keys) == 1
    assert keys[0].startswith("serving/predictions/model=churn/version=3/date=2024-03-05/hour=07/")
    fs = s3fs.S3FileSystem()
    table = ds.dataset(f"{s3_bucket}/serving/predictions", filesystem=fs, partitioning="hive").to_table()
    assert table.column("request_id").to_pylist() == ["s3-1", "s3-1"]
    assert table.column("input_age").to_pylist() == [30.0, 41.0]
