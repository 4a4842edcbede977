import logging
import math
import re
import socket
import sys
import threading
from pathlib import Path

import psutil
import pytest

from cairn._internal.clock import now_ms
from cairn.errors import Conflict, InvalidArgument
from cairn.tracking.system_metrics import SystemMetricsSampler

BASE_KEYS = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}
GPU_KEY = re.compile(r"^system/gpu_\d+_[a-z_]+$")
WAIT_SECONDS = 10.0


class Recorder:
    """An emit callback that keeps every sample and signals once it has `wanted` of them."""

    def __init__(self, wanted: int = 2, failures: int = 0) -> None:
        self.samples: list[tuple[dict[str, float], int]] = []
        self.calls = 0
        self.enough = threading.Event()
        self._wanted = wanted
        self._failures = failures

    def __call__(self, metrics: dict[str, float], timestamp_ms: int) -> None:
        self.calls += 1
        if self.calls <= self._failures:
            raise RuntimeError(f"emit failure {self.calls}")
        self.samples.append((metrics, timestamp_ms))
        if len(self.samples) >= self._wanted:
            self.enough.set()


def check_ranges(metrics: dict[str, float]) -> None:
    assert set(metrics) >= BASE_KEYS
    assert all(GPU_KEY.match(key) for key in set(metrics) - BASE_KEYS)
    assert all(isinstance(value, float) and math.isfinite(value) for value in metrics.values())
    for key, value in metrics.items():
        if key.endswith("_percentage"):
            assert 0.0 <= value <= 100.0, key
        else:
            assert value >= 0.0, key
    assert metrics["system/system_memory_usage_megabytes"] > 0.0
    assert metrics["system/disk_usage_megabytes"] + metrics["system/disk_available_megabytes"] > 0.0


def test_samples_arrive_every_interval_with_every_key() -> None:
    recorder = Recorder(wanted=2)
    sampler = SystemMetricsSampler(recorder, interval=0.05)
    started = now_ms()
    sampler.start()
    try:
        assert recorder.enough.wait(WAIT_SECONDS)
    finally:
        sampler.stop()
    assert not sampler.running
    first, second = recorder.samples[0], recorder.samples[1]
    for metrics, timestamp in (first, second):
        check_ranges(metrics)
        assert started <= timestamp <= now_ms()
    assert first[1] <= second[1]


def test_stop_does_not_wait_for_the_interval() -> None:
    sampler = SystemMetricsSampler(Recorder(), interval=3600)
    sampler.start()
    assert sampler.running
    sampler.stop(timeout=WAIT_SECONDS)
    assert not sampler.running


def test_stop_is_idempotent_and_start_is_once_only() -> None:
    sampler = SystemMetricsSampler(Recorder(), interval=3600)
    sampler.stop()  # stopping a sampler that never started is harmless
    sampler = SystemMetricsSampler(Recorder(), interval=3600)
    sampler.start()
    with pytest.raises(Conflict, match="already started"):
        sampler.start()
    sampler.stop()
    sampler.stop()
    with pytest.raises(Conflict):
        sampler.start()


def test_failing_emit_is_logged_and_sampling_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(wanted=2, failures=2)
    sampler = SystemMetricsSampler(recorder, interval=0.05)
    with caplog.at_level(logging.WARNING, logger="cairn"):
        sampler.start()
        try:
            assert recorder.enough.wait(WAIT_SECONDS)
        finally:
            sampler.stop()
    assert recorder.calls >= 4
    warnings = [r for r in caplog.records if r.name == "cairn" and r.levelno == logging.WARNING]
    assert len(warnings) >= 2
    assert warnings[0].exc_info is not None
    assert "emit failure 1" in str(warnings[0].exc_info[1])


def test_emit_may_stop_its_own_sampler() -> None:
    stopped = threading.Event()

    def emit(metrics: dict[str, float], timestamp_ms: int) -> None:
        sampler.stop()
        stopped.set()

    sampler = SystemMetricsSampler(emit, interval=0.05)
    sampler.start()
    assert stopped.wait(WAIT_SECONDS)
    sampler.stop(timeout=WAIT_SECONDS)
    assert not sampler.running


def test_sample_once_without_starting() -> None:
    sampler = SystemMetricsSampler(Recorder(), interval=1)
    check_ranges(sampler.sample_once())
    check_ranges(sampler.sample_once())


def test_disk_metrics_follow_disk_path(tmp_path: Path) -> None:
    metrics = SystemMetricsSampler(Recorder(), disk_path=tmp_path).sample_once()
    usage = psutil.disk_usage(str(tmp_path))
    tolerance_mb = 0.01 * usage.total / 1_000_000  # other processes may write meanwhile
    assert abs(metrics["system/disk_usage_megabytes"] - usage.used / 1_000_000) < tolerance_mb
    assert abs(metrics["system/disk_available_megabytes"] - usage.free / 1_000_000) < tolerance_mb
    assert abs(metrics["system/disk_usage_percentage"] - usage.percent) < 1.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="loopback traffic is counted on Linux")
def test_network_counters_count_traffic_since_creation() -> None:
    sampler = SystemMetricsSampler(Recorder(), interval=3600)
    payload = b"x" * 3_000_000
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname()) as client:
        peer, _ = server.accept()
        with peer:
            client.sendall(payload)
            received = 0
            while received < len(payload):
                received += len(peer.recv(1 << 20))
    metrics = sampler.sample_once()
    assert metrics["system/network_receive_megabytes"] >= 3.0
    assert metrics["system/network_transmit_megabytes"] >= 3.0


@pytest.mark.parametrize("interval", [0, -1, math.nan, math.inf])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(InvalidArgument, match="interval"):
        SystemMetricsSampler(Recorder(), interval=interval)
