"""The Experiment entity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cairn.entities.lifecycle import LifecycleStage


@dataclass(frozen=True)
class Experiment:
    """A named group of runs with a shared artifact location."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    creation_time: int = 0
    last_update_time: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)
