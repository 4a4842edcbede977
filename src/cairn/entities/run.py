"""The Run entity and its parts: info, params, tags, latest metrics and inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cairn.entities.dataset import RunInputs
from cairn.entities.lifecycle import LifecycleStage, RunStatus
from cairn.entities.metric import Metric


@dataclass(frozen=True)
class Param:
    """A run parameter; once logged, its value never changes."""

    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    """A mutable key/value label on a run."""

    key: str
    value: str


@dataclass(frozen=True)
class RunInfo:
    """A run's identity, status and timing."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: RunStatus
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE


@dataclass(frozen=True)
class RunData:
    """A run's params, tags and the latest value of each metric."""

    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    latest_metrics: Mapping[str, Metric] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """A run: its info, its data and its inputs."""

    info: RunInfo
    data: RunData
    inputs: RunInputs = RunInputs()

    @property
    def run_id(self) -> str:
        """The run's id (shortcut for `info.run_id`)."""
        return self.info.run_id
