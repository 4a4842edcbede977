"""What a new run records without being asked: its code version and its environment."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cairn.settings import Settings

if TYPE_CHECKING:
    from cairn.tracking.code_version import CodeVersion

CODE_DIFF_ARTIFACT = "code/uncommitted.diff"
REQUIREMENTS_ARTIFACT = "environment/requirements.txt"
ENVIRONMENT_ARTIFACT = "environment/environment.json"
_CODE_CACHE_SECONDS = 5.0
_code_cache: tuple[float, CodeVersion | None] | None = None


@dataclass(frozen=True)
class RunContext:
    """Tags to set on a new run and small files to store as its artifacts."""

    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)


def capture_run_context(settings: Settings) -> RunContext:
    """Capture the code version and environment that the settings ask for."""
    tags: dict[str, str] = {}
    artifacts: dict[str, bytes] = {}
    if settings.capture_code:
        code = _cached_code_version()
        if code is not None:
            tags.update(code.to_tags())
            if code.diff:
                artifacts[CODE_DIFF_ARTIFACT] = code.diff.encode()
        elif sys.argv and sys.argv[0]:
            tags["mlflow.source.name"] = sys.argv[0]
            tags["mlflow.source.type"] = "LOCAL"
    if settings.capture_environment:
        from cairn.tracking.environment import capture_environment

        env = capture_environment()
        tags.update(env.to_tags())
        artifacts[REQUIREMENTS_ARTIFACT] = env.requirements_text().encode()
        artifacts[ENVIRONMENT_ARTIFACT] = json.dumps(env.to_dict(), indent=2, sort_keys=True).encode()
    return RunContext(tags, artifacts)


def _cached_code_version() -> CodeVersion | None:
    """The code version, re-read from git at most every few seconds (runs often start in quick bursts)."""
    global _code_cache
    from cairn.tracking.code_version import capture_code_version

    now = time.monotonic()
    if _code_cache is None or now - _code_cache[0] > _CODE_CACHE_SECONDS:
        _code_cache = (now, capture_code_version())
    return _code_cache[1]
