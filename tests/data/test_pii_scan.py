"""The PII scanner over tables and streamed datasets: findings, free text, sampling, the report form."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from cairn.data.pii_scan import PiiFinding, PiiReport, scan_pii
from cairn.errors import InvalidArgument

ROWS = 200


def mixed_table() -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array(range(1, ROWS + 1), pa.int64()),
            "email": [f"person{i}@example.com" for i in range(ROWS)],
            "comment": [
                f"great product, reach me at buyer{i}@shop.example" if i % 4 == 0 else "ok"
                for i in range(ROWS)
            ],
            "phone": ["+44 20 7946 0958" if i % 2 == 0 else None for i in range(ROWS)],
            "card_number": pa.array([4111111111111111] * ROWS, pa.int64()),
            "last_seen_from": [f"10.0.{i // 250}.{i % 250}" for i in range(ROWS)],
            "city": ["Lyon", "Utrecht"] * (ROWS // 2),
            "amount": [float(i) for i in range(ROWS)],
        }
    )


def summary(report: PiiReport) -> set[tuple[str, str, float, int, int, bool, bool]]:
    return {
        (f.column, f.kind, f.share, f.rows_matched, f.rows_non_null, f.free_text, f.name_hint)
        for f in report.findings
    }


def test_mixed_table_gives_exactly_the_expected_findings() -> None:
    report = scan_pii(mixed_table())
    assert report.rows_scanned == ROWS
    assert summary(report) == {
        ("email", "email", 1.0, ROWS, ROWS, False, True),
        ("comment", "email", 0.25, ROWS // 4, ROWS, True, False),
        ("phone", "phone", 1.0, ROWS // 2, ROWS // 2, False, True),
        ("card_number", "payment_card", 1.0, ROWS, ROWS, False, True),
        ("last_seen_from", "ipv4", 1.0, ROWS, ROWS, False, False),
    }
    assert report.columns() == ["email", "comment", "phone", "card_number", "last_seen_from"]
    assert [f.kind for f in report.for_column("comment")] == ["email"]
    assert report.for_column("city") == []


def test_confidence_rises_with_share_and_name_hint() -> None:
    report = scan_pii(mixed_table())
    by_column = {f.column: f for f in report.findings}
    assert all(0.0 < f.confidence <= 1.0 for f in report.findings)
    assert by_column["email"].confidence > by_column["comment"].confidence
    renamed = scan_pii(mixed_table().rename_columns(["a", "b", "c", "d", "e", "f", "g", "h"]))
    assert {f.column: f for f in renamed.findings}["b"].confidence < by_column["email"].confidence


def test_report_holds_no_raw_values() -> None:
    report = scan_pii(mixed_table())
    text = json.dumps(report.to_dict())
    for raw in ["person0@example.com", "+44 20 7946 0958", "4111111111111111", "10.0.0.0", "buyer0"]:
        assert raw not in text
    assert {f.column: f.example for f in report.findings}["email"] == "p***@e***.com"


def test_report_round_trips_through_json() -> None:
    report = scan_pii(mixed_table())
    again = PiiReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    assert list(report.to_dict()) == ["rows_scanned", "findings"]


def test_from_dict_names_bad_keys() -> None:
    finding = scan_pii(mixed_table()).findings[0].to_dict()
    finding["raw_value"] = "x"
    with pytest.raises(InvalidArgument, match="raw_value"):
        PiiFinding.from_dict(finding)
    with pytest.raises(InvalidArgument, match="rows_scanned"):
        PiiReport.from_dict({"findings": []})


def test_name_hint_alone_makes_no_finding() -> None:
    table = pa.table({"email": ["n/a", "unknown", "none"] * 10, "ssn": ["123", "456", "789"] * 10})
    assert scan_pii(table).findings == ()


def test_ids_that_sometimes_pass_a_checksum_are_not_reported() -> None:
    # About one 9-digit number in 11 passes the Dutch BSN 11-check by chance.
    table = pa.table({"order_ref": [str(100_000_000 + i) for i in range(1000)]})
    assert scan_pii(table).findings == ()
    # The same share of BSNs among values that are not candidates is reported: the guard is the pass rate.
    table = pa.table({"ref": ["111222333"] * 91 + ["n/a"] * 909})
    assert [(f.kind, f.rows_matched, f.pass_rate) for f in scan_pii(table).findings] == [("nl_bsn", 91, 1.0)]


def test_min_share_filters_rare_matches() -> None:
    values = ["plain"] * 99 + ["ann@example.com"]
    table = pa.table({"note": values})
    assert scan_pii(table).findings == ()
    (finding,) = scan_pii(table, min_share=0.01).findings
    assert (finding.kind, finding.rows_matched, finding.share) == ("email", 1, 0.01)


def test_only_text_and_64_bit_integer_columns_are_scanned() -> None:
    table = pa.table(
        {
            "small": pa.array([1, 2, 3], pa.int32()),
            "ids": pa.array([1, 2, 3], pa.int64()),
            "when": pa.array([1.5, 2.5, 3.5]),
            "tags": pa.array(["a@example.com"] * 3).dictionary_encode(),
            "big": pa.array(["a@example.com"] * 3, pa.large_string()),
        }
    )
    assert {(f.column, f.kind) for f in scan_pii(table).findings} == {("tags", "email"), ("big", "email")}


def test_tables_without_text_or_rows_report_nothing() -> None:
    assert scan_pii(pa.table({"x": pa.array([1.0, 2.0])})) == PiiReport(findings=(), rows_scanned=0)
    empty = pa.table({"email": pa.array([], pa.string())})
    assert scan_pii(empty) == PiiReport(findings=(), rows_scanned=0)
    assert scan_pii(pa.table({"email": pa.array([None, None], pa.string())})).findings == ()


def test_dataset_is_sampled_and_matches_the_table_scan(tmp_path: Path) -> None:
    rows = 30_000
    table = pa.table(
        {
            "contact": [f"u{i}@example.com" if i % 3 == 0 else f"user {i}" for i in range(rows)],
            "n": pa.array(range(rows), pa.int64()),
        }
    )
    for part in range(3):
        pq.write_table(
            table.slice(part * 10_000, 10_000), tmp_path / f"part-{part}.parquet", row_group_size=4000
        )
    dataset = pads.dataset(tmp_path, format="parquet")
    from_dataset = scan_pii(dataset, sample_rows=2000, seed=7)
    from_table = scan_pii(table, sample_rows=2000, seed=7)
    assert from_dataset == from_table
    assert from_dataset.rows_scanned == 2000
    (finding,) = from_dataset.findings
    assert finding.rows_non_null == 2000
    assert 0.28 < finding.share < 0.39  # a third of the rows, sampled
    assert scan_pii(dataset, sample_rows=2000, seed=7) == from_dataset


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidArgument, match="sample_rows"):
        scan_pii(mixed_table(), sample_rows=0)
    with pytest.raises(InvalidArgument, match="min_share"):
        scan_pii(mixed_table(), min_share=0.0)
