"""Running validation rules on a stored version and recording the report on the version and a run."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.entities.dataset_version import DatasetVersion

if TYPE_CHECKING:
    from cairn.data.client import DataClient
    from cairn.data.rules import Rule
    from cairn.data.validation import ValidationReport


_METRIC_UNSAFE = re.compile(r"[^A-Za-z0-9_.\- ]")  # characters metric keys may not hold


def rules_from(rules: Sequence[Rule] | str | Path) -> list[Rule]:
    """Rule objects as given, or loaded from a YAML file path or YAML text."""
    from cairn.data.rules_yaml import load_rules

    if isinstance(rules, str | Path):
        return load_rules(rules)
    return list(rules)


def validate_version(
    client: DataClient, version: DatasetVersion, rules: Sequence[Rule] | str | Path, run_id: str | None
) -> ValidationReport:
    """Validate a version's data; store the report on the version (and on the run when given)."""
    from cairn.data.validation import validate

    report = validate(client.open(version.name, version.version), rules_from(rules))
    document = report.to_dict()
    client.store.add_dataset_validation(version.name, version.version, document)
    if run_id is not None:
        artifact = f"data_validation/{version.name}-v{version.version}.json"
        client.tracking.log_bytes(run_id, json.dumps(document, indent=2).encode(), artifact)
        key = f"data_validation.{_METRIC_UNSAFE.sub('_', version.name)}.passed"
        client.tracking.log_metric(run_id, key, float(report.passed))
        client.tracking.flush()
    return report
