"""Streaming evaluation of custom Python rules over record batches."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
from typing import TYPE_CHECKING, Any, TypeAlias

from cairn.data.rules import Custom

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

    TabularData: TypeAlias = pa.Table | pads.Dataset

_BATCH_ROWS = 65_536
#: A rule's outcome: (passed, failing rows or -1 for all of them, message, examples).
Verdict = tuple[bool, int, str, list[Any]]


def json_value(value: Any) -> Any:
    """A value read from the data in a JSON-able form."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    return str(value)


class _CustomRun:
    """One custom rule's running totals while batches stream past."""

    def __init__(self, rule: Custom, limit: int) -> None:
        self.rule = rule
        self.limit = limit
        self.rows = 0
        self.failing = 0
        self.examples: list[Any] = []
        self.error: str | None = None

    def feed(self, batch: pa.RecordBatch) -> None:
        """Run the check on one batch and add up its failures."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.error is not None:
            return
        part = batch.select(list(self.rule.columns)) if self.rule.columns is not None else batch
        self.rows += part.num_rows
        try:
            outcome: Any = self.rule.fn(part)
        except Exception as error:  # the user's code: report it as the rule's failure
            self.error = f"custom check raised {type(error).__name__}: {error}"
            return
        if isinstance(outcome, numbers.Integral) and not isinstance(outcome, bool):
            if not 0 <= int(outcome) <= part.num_rows:
                self.error = f"custom check counted {outcome} failing rows in a batch of {part.num_rows}"
            self.failing += int(outcome)
            return
        if isinstance(outcome, pa.ChunkedArray):
            outcome = outcome.combine_chunks()
        if not isinstance(outcome, pa.Array) or outcome.type != pa.bool_() or len(outcome) != part.num_rows:
            self.error = (
                f"custom check returned {type(outcome).__name__}; expected a boolean array of "
                f"{part.num_rows} values or a count of failing rows"
            )
            return
        passing = outcome.fill_null(False)
        bad = part.num_rows - int(pc.sum(passing).as_py() or 0)
        self.failing += bad
        room = self.limit - len(self.examples)
        if bad and room > 0:
            rows = part.filter(pc.invert(passing)).slice(0, room).to_pylist()
            self.examples.extend(json_value(row) for row in rows)

    def verdict(self) -> Verdict:
        """The rule's outcome once every batch was seen."""
        if self.error is not None:
            return False, -1, self.error, []
        if self.failing:
            return False, self.failing, f"{self.failing} of {self.rows} rows fail the check", self.examples
        return True, 0, f"all {self.rows} rows pass the check", []


def run_custom_rules(data: TabularData, rules: dict[int, Custom], examples: int) -> dict[int, Verdict]:
    """Stream the data once for all custom rules, reading only the columns they need."""
    import pyarrow as pa

    outcomes: dict[int, Verdict] = {}
    runs: dict[int, _CustomRun] = {}
    names = data.schema.names
    for position, rule in rules.items():
        missing = [column for column in rule.columns or () if column not in names]
        if missing:
            outcomes[position] = (False, -1, f"columns {missing} are not in the data", [])
        else:
            runs[position] = _CustomRun(rule, examples)
    if not runs:
        return outcomes
    wanted: list[str] | None = None
    if all(run.rule.columns is not None for run in runs.values()):
        needed = {column for run in runs.values() for column in run.rule.columns or ()}
        wanted = [name for name in names if name in needed]
    if isinstance(data, pa.Table):
        batches = (data if wanted is None else data.select(wanted)).to_batches(max_chunksize=_BATCH_ROWS)
    else:
        batches = data.to_batches(columns=wanted, batch_size=_BATCH_ROWS)
    for batch in batches:
        for run in runs.values():
            run.feed(batch)
    outcomes.update({position: run.verdict() for position, run in runs.items()})
    return outcomes
