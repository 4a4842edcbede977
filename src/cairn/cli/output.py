"""Rendering for the CLI: entities as JSON-ready dicts, and tables through rich."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from cairn.store.wire_format import float_to_json

if TYPE_CHECKING:
    from rich.console import Console

    from cairn.entities import Experiment, Run

OUTPUT_CHOICE = click.Choice(["table", "json"], case_sensitive=False)
VIEW_CHOICES = {"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}
PIPE_WIDTH = 240
MAX_METRIC_COLUMNS = 4
MAX_PARAM_COLUMNS = 3


def echo_json(data: Any) -> None:
    """Print `data` as indented, strictly valid JSON."""
    click.echo(json.dumps(data, indent=2, allow_nan=False))


def experiment_dict(experiment: Experiment) -> dict[str, Any]:
    """An experiment as a JSON-ready dict."""
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage.value,
        "creation_time": experiment.creation_time,
        "last_update_time": experiment.last_update_time,
        "tags": dict(experiment.tags),
    }


def run_dict(run: Run) -> dict[str, Any]:
    """A run as a JSON-ready dict: `info`, then `data` with params, metrics (latest values) and tags."""
    info = run.info
    return {
        "info": {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "user_id": info.user_id,
            "status": info.status.value,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "artifact_uri": info.artifact_uri,
            "lifecycle_stage": info.lifecycle_stage.value,
        },
        "data": {
            "params": dict(run.data.params),
            "metrics": {key: float_to_json(value) for key, value in run.data.metrics.items()},
            "tags": dict(run.data.tags),
        },
    }


def format_time(ms: int | None) -> str:
    """A millisecond timestamp as local `YYYY-MM-DD HH:MM:SS`, or "-"."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(start_ms: int, end_ms: int | None) -> str:
    """The time between two timestamps as `1h 02m 03s`, `4m 05s` or `6.7s`; "-" while there is no end."""
    if end_ms is None:
        return "-"
    seconds = max(0, end_ms - start_ms) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def format_value(value: float) -> str:
    """A metric value with up to six significant digits."""
    return f"{value:.6g}"


def console() -> Console:
    """A rich console on stdout; wide when piped, so that tables are not squeezed to 80 columns."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal else Console(width=PIPE_WIDTH)


def print_table(title: str | None, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print rows as a rich table; cells are plain text (never markup); the first column (ids) never wraps."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for index, header in enumerate(headers):
        table.add_column(header, no_wrap=index == 0, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console().print(table)


def print_mapping(title: str, values: Mapping[str, str]) -> None:
    """Print a key/value table, sorted by key; nothing when `values` is empty."""
    if values:
        print_table(title, ["key", "value"], sorted(values.items()))


def experiments_table(experiments: Sequence[Experiment]) -> None:
    """Print experiments as a table: id, name, stage, artifact location, creation time."""
    print_table(
        None,
        ["experiment_id", "name", "stage", "artifact_location", "created"],
        [
            [
                e.experiment_id,
                e.name,
                e.lifecycle_stage.value,
                e.artifact_location,
                format_time(e.creation_time),
            ]
            for e in experiments
        ],
    )


def runs_table(runs: Sequence[Run], order_by: Sequence[str] = ()) -> None:
    """Print runs as a table: id, name, status, start, duration, and a few metrics and params.

    Metrics named in `order_by` come first among the metric columns, then the others alphabetically.
    """
    metric_keys = _pick_keys(
        [run.data.metrics for run in runs], _ordered_metric_keys(order_by), MAX_METRIC_COLUMNS
    )
    param_keys = _pick_keys([run.data.params for run in runs], [], MAX_PARAM_COLUMNS)
    headers = ["run_id", "name", "status", "start", "duration"]
    headers += [f"metrics.{k}" for k in metric_keys] + [f"params.{k}" for k in param_keys]
    rows = []
    for run in runs:
        info, data = run.info, run.data
        row = [info.run_id, info.run_name, info.status.value, format_time(info.start_time)]
        row.append(format_duration(info.start_time, info.end_time))
        row += [format_value(data.metrics[k]) if k in data.metrics else "" for k in metric_keys]
        row += [data.params.get(k, "") for k in param_keys]
        rows.append(row)
    print_table(None, headers, rows)


def run_details(run: Run) -> None:
    """Print one run: its info, then its params, metrics and tags as key/value tables."""
    info = run.info
    fields = {
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status.value,
        "start_time": format_time(info.start_time),
        "end_time": format_time(info.end_time),
        "duration": format_duration(info.start_time, info.end_time),
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage.value,
    }
    print_table(f"Run {info.run_id}", ["field", "value"], list(fields.items()))
    print_mapping("Params", dict(run.data.params))
    print_mapping("Metrics", {k: format_value(v) for k, v in run.data.metrics.items()})
    print_mapping("Tags", dict(run.data.tags))


def _ordered_metric_keys(order_by: Sequence[str]) -> list[str]:
    keys = []
    for clause in order_by:
        field = clause.strip().split()[0] if clause.strip() else ""
        if field.startswith("metrics."):
            keys.append(field.removeprefix("metrics.").strip('`"'))
    return keys


def _pick_keys(mappings: Sequence[Mapping[str, Any]], first: Sequence[str], limit: int) -> list[str]:
    present = {key for mapping in mappings for key in mapping}
    chosen = [key for key in dict.fromkeys(first) if key in present]
    chosen += sorted(present - set(chosen))
    return chosen[:limit]
