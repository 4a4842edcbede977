"""The PII scanner: which columns of a table or dataset hold personal data, from a bounded row sample."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from cairn.data.pii_patterns import DETECTORS, PiiDetector, get_detector, masked_example, name_hint_kinds
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

    TabularData: TypeAlias = pa.Table | pads.Dataset

__all__ = ["PiiFinding", "PiiReport", "scan_pii"]

_BATCH_ROWS = 65_536
_MASK64 = (1 << 64) - 1
_FREE_TEXT_WHOLE_SHARE = 0.5
_NAME_HINT_BONUS = 0.1


@dataclass(frozen=True)
class PiiFinding:
    """One kind of personal data found in one column. Holds counts and a masked example, never raw values.

    Attributes:
        column: The column name.
        kind: The detector kind (`email`, `payment_card`, ...).
        share: Share of the sampled non-null rows that contain this kind, 0..1.
        confidence: How sure the finding is, 0..1 (from the kind, the share, the pass rate and the name).
        rows_matched: Sampled rows that contain a confirmed match.
        rows_non_null: Sampled non-null rows of the column.
        pass_rate: Share of rows with a candidate match whose candidate was confirmed by the validator.
        free_text: True when the kind sits inside longer text rather than being the whole value.
        name_hint: True when the column name suggests this kind too.
        example: One match, masked (`j***@e***.com`).
    """

    column: str
    kind: str
    share: float
    confidence: float
    rows_matched: int
    rows_non_null: int
    pass_rate: float
    free_text: bool
    name_hint: bool
    example: str

    def to_dict(self) -> dict[str, Any]:
        """The finding as a JSON-able dict with a stable key order."""
        return {
            "column": self.column,
            "kind": self.kind,
            "share": self.share,
            "confidence": self.confidence,
            "rows_matched": self.rows_matched,
            "rows_non_null": self.rows_non_null,
            "pass_rate": self.pass_rate,
            "free_text": self.free_text,
            "name_hint": self.name_hint,
            "example": self.example,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PiiFinding:
        """Rebuild a finding from `to_dict` output.

        Raises:
            InvalidArgument: naming the missing or unexpected keys.
        """
        expected = set(cls.__dataclass_fields__)
        if set(data) != expected:
            missing, extra = sorted(expected - set(data)), sorted(set(data) - expected)
            raise InvalidArgument(f"PII finding keys do not match: missing {missing}, unexpected {extra}")
        return cls(**data)


@dataclass(frozen=True)
class PiiReport:
    """The findings of one scan and how many rows the sample held."""

    findings: tuple[PiiFinding, ...]
    rows_scanned: int

    def columns(self) -> list[str]:
        """The columns with at least one finding, in the order they were found."""
        return list(dict.fromkeys(finding.column for finding in self.findings))

    def for_column(self, column: str) -> list[PiiFinding]:
        """The findings of one column (empty when it has none)."""
        return [finding for finding in self.findings if finding.column == column]

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-able dict with a stable key order."""
        return {"rows_scanned": self.rows_scanned, "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PiiReport:
        """Rebuild a report from `to_dict` output.

        Raises:
            InvalidArgument: when a key is missing or a finding is malformed.
        """
        if set(data) != {"rows_scanned", "findings"}:
            raise InvalidArgument(
                f"a PII report needs exactly 'rows_scanned' and 'findings', got {sorted(data)}"
            )
        findings = tuple(PiiFinding.from_dict(item) for item in data["findings"])
        return cls(findings=findings, rows_scanned=int(data["rows_scanned"]))


def scan_pii(
    data: TabularData,
    *,
    sample_rows: int = 10_000,
    min_share: float = 0.05,
    seed: int = 0,
) -> PiiReport:
    """Scan the text columns (and card-number-sized integer columns) of `data` for personal data.

    The scan streams record batches and keeps a deterministic sample of at most `sample_rows` rows
    (the rows with the smallest seeded hash of their position), so a Dataset is never loaded whole.

    Args:
        data: A `pyarrow.Table` or a `pyarrow.dataset.Dataset`.
        sample_rows: The most rows to examine.
        min_share: Report a (column, kind) only when at least this share of non-null sampled rows match.
        seed: Chooses the sample; the same seed and data give the same report.

    Raises:
        InvalidArgument: when `sample_rows` or `min_share` is out of range.
    """
    if sample_rows < 1:
        raise InvalidArgument(f"sample_rows must be at least 1, got {sample_rows}")
    if not 0.0 < min_share <= 1.0:
        raise InvalidArgument(f"min_share must be in (0, 1], got {min_share}")
    plan = _columns_to_scan(data.schema)
    if not plan:
        return PiiReport(findings=(), rows_scanned=0)
    sample = _sample(_batches(data, list(plan)), sample_rows, seed)
    if sample.num_rows == 0:
        return PiiReport(findings=(), rows_scanned=0)
    findings = [
        finding
        for name, detectors in plan.items()
        for finding in _scan_column(name, sample.column(name).to_pylist(), detectors, min_share)
    ]
    return PiiReport(findings=tuple(findings), rows_scanned=sample.num_rows)


def _columns_to_scan(schema: pa.Schema) -> dict[str, tuple[PiiDetector, ...]]:
    import pyarrow as pa

    plan: dict[str, tuple[PiiDetector, ...]] = {}
    for field in schema:
        value_type = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if _is_text(value_type):
            plan[field.name] = DETECTORS
        elif pa.types.is_int64(value_type) or pa.types.is_uint64(value_type):
            # Only 64-bit integers can hold 13-19 digit card numbers.
            plan[field.name] = (get_detector("payment_card"),)
    return plan


_STREAM_ROWS = 400_000
"""Past this many rows, a Parquet Dataset is sampled from evenly spread row groups, not read whole."""
_MAX_SPREAD_FILES = 64


def _is_text(value_type: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(value_type)
        or pa.types.is_large_string(value_type)
        or pa.types.is_string_view(value_type)
    )


def _batches(data: TabularData, columns: list[str]) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    if isinstance(data, pa.Table):
        yield from data.select(columns).to_batches(max_chunksize=_BATCH_ROWS)
        return
    for part in _spread_parts(data, _STREAM_ROWS):
        yield from part.to_batches(columns=columns, batch_size=_BATCH_ROWS)


def _spread_parts(data: pads.Dataset, budget: int) -> list[Any]:
    """Pieces of a Dataset to sample from: all of it when small, else row groups spread evenly over it.

    Scanning a large Dataset whole only to keep 10,000 rows costs a full read of its text columns;
    row groups taken at even intervals (from at most `_MAX_SPREAD_FILES` files, themselves spread
    evenly) give a sample from every part of the data for a bounded read.
    """
    import pyarrow.dataset as pads

    if not isinstance(data, pads.FileSystemDataset) or not isinstance(data.format, pads.ParquetFileFormat):
        return [data]
    fragments = list(data.get_fragments())
    if len(fragments) > _MAX_SPREAD_FILES:
        step = len(fragments) / _MAX_SPREAD_FILES
        fragments = [fragments[int(i * step)] for i in range(_MAX_SPREAD_FILES)]
    groups = [group for fragment in fragments for group in fragment.split_by_row_group()]
    sizes = [sum(rg.num_rows for rg in group.row_groups) for group in groups]
    if sum(sizes) <= budget or len(groups) <= 1:
        return groups or [data]
    average = max(1, sum(sizes) // len(groups))
    wanted = max(1, min(len(groups), budget // average))
    step = len(groups) / wanted
    return [groups[int(i * step)] for i in range(wanted)]


def _row_keys(start: int, count: int, seed: int) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """A seeded pseudo-random 64-bit key per row position (splitmix64), independent of batch sizes."""
    offset = np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _MASK64)
    z = np.arange(start, start + count, dtype=np.uint64) + offset
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _sample(batches: Iterator[pa.RecordBatch], size: int, seed: int) -> pa.Table:
    """Keep the `size` rows with the smallest keys, streaming; returns them in their original order."""
    import pyarrow as pa

    kept: pa.Table | None = None
    kept_keys = np.empty(0, dtype=np.uint64)
    kept_rows = np.empty(0, dtype=np.int64)
    seen = 0
    for batch in batches:
        keys = _row_keys(seen, batch.num_rows, seed)
        rows = np.arange(seen, seen + batch.num_rows, dtype=np.int64)
        seen += batch.num_rows
        table = pa.Table.from_batches([batch])
        if len(kept_keys) >= size:
            wanted = keys < kept_keys.max()
            table, keys, rows = table.filter(pa.array(wanted)), keys[wanted], rows[wanted]
        kept = table if kept is None else pa.concat_tables([kept, table])
        kept_keys, kept_rows = np.concatenate([kept_keys, keys]), np.concatenate([kept_rows, rows])
        if len(kept_keys) > size:
            chosen = np.argpartition(kept_keys, size - 1)[:size]
            kept, kept_keys, kept_rows = kept.take(pa.array(chosen)), kept_keys[chosen], kept_rows[chosen]
    if kept is None:
        return pa.table({})
    order = np.argsort(kept_rows, kind="stable")
    return kept.take(pa.array(order))


def _scan_column(
    name: str, values: Sequence[object], detectors: Sequence[PiiDetector], min_share: float
) -> list[PiiFinding]:
    texts = [value if isinstance(value, str) else str(value) for value in values if value is not None]
    if not texts:
        return []
    hinted = name_hint_kinds(name)
    findings = []
    for detector in detectors:
        finding = _scan_for_kind(name, texts, detector, detector.kind in hinted)
        if finding is not None and finding.share >= min_share:
            findings.append(finding)
    return findings


def _scan_for_kind(name: str, texts: Sequence[str], detector: PiiDetector, hinted: bool) -> PiiFinding | None:
    candidates = matched = whole = 0
    example = ""
    for text in texts:
        spans = [m.group() for m in detector.pattern.finditer(text)]
        if not spans:
            continue
        candidates += 1
        confirmed = [span for span in spans if detector.validate(span)]
        if not confirmed:
            continue
        matched += 1
        whole += confirmed[0] == text.strip()
        example = example or masked_example(detector.kind, confirmed[0])
    if not matched:
        return None
    pass_rate = matched / candidates
    if pass_rate < detector.min_pass_rate:
        return None
    share = matched / len(texts)
    confidence = detector.confidence * (0.5 + 0.5 * pass_rate) * (0.6 + 0.4 * min(1.0, share / 0.8))
    confidence = min(1.0, confidence + (_NAME_HINT_BONUS if hinted else 0.0))
    return PiiFinding(
        column=name,
        kind=detector.kind,
        share=round(share, 4),
        confidence=round(confidence, 4),
        rows_matched=matched,
        rows_non_null=len(texts),
        pass_rate=round(pass_rate, 4),
        free_text=whole / matched < _FREE_TEXT_WHOLE_SHARE,
        name_hint=hinted,
        example=example,
    )
