"""A background sampler of CPU, memory, disk, network and GPU usage, logged as "system/..." metrics."""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from cairn._internal.clock import now_ms
from cairn.errors import Conflict, InvalidArgument

PREFIX = "system/"
MEGABYTE = 1_000_000  # SI megabytes, as MLflow's system metrics use

_logger = logging.getLogger("cairn")
_IDLE_FIELDS = ("idle", "iowait")
# On Linux guest time is already counted in user and nice time.
_DOUBLE_COUNTED_FIELDS = ("guest", "guest_nice")

Emit = Callable[[dict[str, float], int], None]


class SystemMetricsSampler:
    """Calls `emit(metrics, timestamp_ms)` every `interval` seconds from a daemon thread.

    Metric keys start with "system/": CPU utilisation, system memory, disk usage of the file system
    holding `disk_path`, network traffic since `start()`, and per-GPU utilisation, memory and power
    when NVIDIA's NVML bindings (`nvidia-ml-py`) are installed and a GPU is present. A failing
    `emit` is logged as a warning on the "cairn" logger and sampling goes on.

    A sampler runs once: `start()` a second time raises `Conflict`; `stop()` is idempotent.
    """

    def __init__(self, emit: Emit, interval: float = 10.0, disk_path: str | Path | None = None) -> None:
        """Create a stopped sampler.

        Args:
            emit: Receives each sample and its time in milliseconds since the epoch.
            interval: Seconds between samples; must be positive.
            disk_path: A path on the file system whose usage is reported; the root of the
                current directory's drive when omitted.

        Raises:
            InvalidArgument: if `interval` is not a positive finite number.
        """
        if not isinstance(interval, int | float) or not math.isfinite(interval) or interval <= 0:
            raise InvalidArgument(f"interval must be a positive number of seconds, got {interval!r}")
        self._emit = emit
        self._interval = float(interval)
        self._disk_path = str(disk_path) if disk_path is not None else Path.cwd().anchor
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cpu_before = psutil.cpu_times()
        self._net_baseline = _network_bytes()
        self._gpus: _GpuReader | None = None
        self._gpus_probed = False

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start sampling; network counters are measured from this moment.

        Raises:
            Conflict: if the sampler was started before.
        """
        with self._lock:
            if self._thread is not None:
                raise Conflict("this SystemMetricsSampler was already started; create a new one")
            self._cpu_before = psutil.cpu_times()
            self._net_baseline = _network_bytes()
            self._thread = threading.Thread(target=self._run, name="cairn-system-metrics", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop sampling and wait for the thread to finish; calling it again does nothing.

        Args:
            timeout: Longest wait in seconds for an `emit` call in progress; None waits for it.
        """
        self._stop_event.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if not self.running:
            self._close_gpus()

    def sample_once(self) -> dict[str, float]:
        """Measure every metric now; CPU utilisation covers the time since the previous sample."""
        with self._lock:
            cpu_after = psutil.cpu_times()
            metrics = {"cpu_utilization_percentage": _cpu_percent(self._cpu_before, cpu_after)}
            self._cpu_before = cpu_after
            metrics.update(self._memory_and_disk())
            received, sent = _network_bytes()
            metrics["network_receive_megabytes"] = max(0, received - self._net_baseline[0]) / MEGABYTE
            metrics["network_transmit_megabytes"] = max(0, sent - self._net_baseline[1]) / MEGABYTE
            if not self._gpus_probed:
                self._gpus_probed = True
                self._gpus = _GpuReader.open()
            if self._gpus is not None:
                metrics.update(self._gpus.read())
        return {PREFIX + key: float(value) for key, value in metrics.items()}

    def _memory_and_disk(self) -> dict[str, float]:
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(self._disk_path)
        return {
            "system_memory_usage_megabytes": (memory.total - memory.available) / MEGABYTE,
            "system_memory_usage_percentage": memory.percent,
            "disk_usage_percentage": disk.percent,
            "disk_usage_megabytes": disk.used / MEGABYTE,
            "disk_available_megabytes": disk.free / MEGABYTE,
        }

    def _run(self) -> None:
        try:
            while not self._stop_event.wait(self._interval):
                try:
                    metrics = self.sample_once()
                    self._emit(metrics, now_ms())
                except Exception:  # one bad sample must not end sampling for the run
                    _logger.warning("system metrics sample failed; sampling continues", exc_info=True)
        finally:
            self._close_gpus()

    def _close_gpus(self) -> None:
        with self._lock:
            if self._gpus is not None:
                self._gpus.close()
                self._gpus = None


def _cpu_percent(before: Any, after: Any) -> float:
    """Busy share of all CPUs between two `psutil.cpu_times()` readings, in percent."""
    deltas: dict[str, float] = {
        field: float(getattr(after, field)) - float(getattr(before, field)) for field in after._fields
    }
    total = sum(delta for field, delta in deltas.items() if field not in _DOUBLE_COUNTED_FIELDS)
    idle = sum(deltas.get(field, 0.0) for field in _IDLE_FIELDS)
    if total <= 0:
        return 0.0
    return min(100.0, max(0.0, 100.0 * (total - idle) / total))


def _network_bytes() -> tuple[int, int]:
    counters = psutil.net_io_counters()
    if counters is None:  # no network interfaces at all
        return (0, 0)
    return (counters.bytes_recv, counters.bytes_sent)


class _GpuReader:
    """Reads NVIDIA GPU utilisation, memory and power through NVML."""

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self._nvml = nvml
        self._handles = handles

    @classmethod
    def open(cls) -> _GpuReader | None:
        """A reader for every visible GPU, or None without NVML bindings, a driver or a GPU."""
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError:
            return None
        try:
            nvml.nvmlInit()
        except Exception:  # NVML raises its own error types when no driver is loaded
            return None
        try:
            count = int(nvml.nvmlDeviceGetCount())
            handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception:
            handles = []
        if not handles:
            nvml.nvmlShutdown()
            return None
        return cls(nvml, handles)

    def read(self) -> dict[str, float]:
        """Metrics for every GPU; a reading one device does not support is left out."""
        metrics: dict[str, float] = {}
        for index, handle in enumerate(self._handles):
            metrics.update(self._read_device(index, handle))
        return metrics

    def _read_device(self, index: int, handle: Any) -> dict[str, float]:
        nvml = self._nvml
        prefix = f"gpu_{index}_"
        metrics: dict[str, float] = {}
        # Each reading is optional: consumer GPUs and some drivers do not support all of them.
        with contextlib.suppress(Exception):
            metrics[prefix + "utilization_percentage"] = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        with contextlib.suppress(Exception):
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            metrics[prefix + "memory_usage_megabytes"] = memory.used / MEGABYTE
            metrics[prefix + "memory_usage_percentage"] = 100.0 * memory.used / memory.total
        with contextlib.suppress(Exception):
            watts = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0  # NVML reports milliwatts
            metrics[prefix + "power_usage_watts"] = watts
            limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
            metrics[prefix + "power_usage_percentage"] = 100.0 * watts / limit
        return metrics

    def close(self) -> None:
        """Release NVML."""
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            _logger.debug("NVML shutdown failed", exc_info=True)
