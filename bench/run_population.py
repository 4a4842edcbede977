"""Generated run contents for the search benchmark, and a bulk SQL copier that makes many Cairn runs fast."""

from __future__ import annotations

import uuid
from array import array
from dataclasses import dataclass
from typing import Any

PARAMS = 10
METRICS = 10
TAGS = 5
RUNS_PER_TRANSACTION = 5_000


@dataclass(frozen=True)
class RunValues:
    """Params, metrics and tags of runs 0..n-1, drawn once from a seeded generator."""

    param_choices: Any  # int array (n, PARAMS): p_i = f"v{choice}"
    metric_values: Any  # float array (n, METRICS) in [0, 1)
    tag_choices: Any  # int array (n, TAGS)

    def params(self, i: int) -> dict[str, str]:
        """Run i's params p0..p9, each one of v0..v9."""
        return {f"p{j}": f"v{int(c)}" for j, c in enumerate(self.param_choices[i])}

    def metrics(self, i: int) -> dict[str, float]:
        """Run i's metrics m0..m9."""
        return {f"m{j}": float(v) for j, v in enumerate(self.metric_values[i])}

    def tags(self, i: int) -> dict[str, str]:
        """Run i's tags t0..t4."""
        return {f"t{j}": f"tag{j}-{int(c)}" for j, c in enumerate(self.tag_choices[i])}


def make_values(runs: int, seed: int) -> RunValues:
    """The contents of `runs` runs; the same seed gives the same runs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return RunValues(
        rng.integers(0, 10, size=(runs, PARAMS)),
        rng.random(size=(runs, METRICS)),
        rng.integers(0, 100, size=(runs, TAGS)),
    )


def bulk_clone_runs(client: Any, template_run_id: str, values: RunValues, first: int, last: int) -> None:
    """Insert runs first..last-1 with SQL, copying every row the template run has in Cairn's tables.

    The copies get new run ids and names and the generated params, metrics and tags; every other column
    (status, times, artifact location, ...) is the template's. Tables added to Cairn later are copied as they
    are, so the copies keep looking like runs the client made.
    """
    from cairn.store.sql.engine import write_transaction
    from cairn.store.sql.tables import metadata

    engine = client.store.engine
    run_tables = [t for t in metadata.sorted_tables if "run_uuid" in t.c]
    with engine.connect() as conn:
        template = {
            t.name: [
                dict(r._mapping) for r in conn.execute(t.select().where(t.c.run_uuid == template_run_id))
            ]
            for t in run_tables
        }
    for start in range(first, last, RUNS_PER_TRANSACTION):
        stop = min(last, start + RUNS_PER_TRANSACTION)
        rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in run_tables}
        for i in range(start, stop):
            for table, table_rows in _clone(template, template_run_id, values, i).items():
                rows[table].extend(table_rows)
        with write_transaction(engine) as conn:
            for t in run_tables:
                if rows[t.name]:
                    conn.execute(t.insert(), rows[t.name])


def _clone(
    template: dict[str, list[dict[str, Any]]], template_id: str, values: RunValues, i: int
) -> dict[str, list[dict[str, Any]]]:
    """Rows of run i: the template's rows with a new id, name, params, metrics and tags."""
    from cairn.store.sql.metric_codec import pack_floats

    run_id = uuid.uuid4().hex
    name = f"run-{i}"
    overrides: dict[str, dict[str, Any]] = {
        "params": values.params(i),
        "tags": {**values.tags(i), "mlflow.runName": name},
        "latest_metrics": values.metrics(i),
    }
    metrics = overrides["latest_metrics"]
    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in template.items():
        copies = []
        for row in rows:
            copy = {**row, "run_uuid": run_id}
            copy.pop("chunk_id", None)  # autoincrement
            if table == "runs":
                copy["name"] = name
                copy["artifact_uri"] = str(row["artifact_uri"]).replace(template_id, run_id)
            elif table in ("params", "tags") and row["key"] in overrides[table]:
                copy["value"] = overrides[table][row["key"]]
            elif table == "latest_metrics":
                copy["value"] = metrics[row["key"]]
            elif table == "metric_chunks":
                copy["metric_values"] = pack_floats(array("d", [metrics[row["key"]]]))
            copies.append(copy)
        out[table] = copies
    return out


def count_runs(client: Any, experiment_id: str) -> int:
    """How many runs the experiment holds (one SQL count)."""
    from sqlalchemy import func, select

    from cairn.store.sql.tables import runs

    with client.store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(runs).where(runs.c.experiment_id == int(experiment_id))
            ).scalar_one()
        )
