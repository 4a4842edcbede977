"""Tables for `cairn data`: a version's schema and profile, diffs, validation reports, skew and erasure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cairn.cli import output

if TYPE_CHECKING:
    from cairn.data.erasure import ErasureResult
    from cairn.data.profile_diff import ProfileDiff
    from cairn.data.skew import SkewReport
    from cairn.data.validation import ValidationReport
    from cairn.entities.dataset_version import DatasetVersion


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_version(version: DatasetVersion) -> None:
    """The version's facts, its columns with their profile, PII findings and validation results."""
    facts = {
        "version": str(version.version),
        "status": version.status.value,
        "digest": version.digest,
        "rows": f"{version.row_count:,}",
        "files": f"{version.file_count:,} ({version.size_bytes:,} bytes, {version.storage.value})",
        "source": f"{version.source} ({version.source_type})",
        "created": f"{output.format_time(version.creation_time)} by {version.created_by}",
        "aliases": ", ".join(version.aliases) or "-",
    }
    if version.derived_from is not None:
        facts["derived from"] = f"version {version.derived_from}"
    if version.erasure is not None:
        facts["erased"] = f"{version.erasure.get('where')} -> version {version.erasure.get('replaced_by')}"
    output.print_mapping(f"{version.name} v{version.version}", facts)
    print_columns(version)
    if version.pii and version.pii.get("findings"):
        rows = [
            (
                f["column"],
                f["kind"],
                f"{100 * f['share']:.1f}%",
                f"{f['confidence']:.2f}",
                f.get("example", ""),
            )
            for f in version.pii["findings"]
        ]
        output.print_table("Personal data found", ["column", "kind", "rows", "confidence", "example"], rows)
    for report in version.validations[-1:]:
        failed = [r for r in report.get("results", []) if not r.get("passed")]
        verdict = "passed" if report.get("passed") else "FAILED"
        click.echo(f"last validation: {verdict} ({len(failed)} rule(s) failed)")


def print_columns(version: DatasetVersion) -> None:
    """One row per column: type, nulls, distinct values, range and mean (from the stored profile)."""
    profiles = {c["name"]: c for c in (version.profile or {}).get("columns", [])}
    rows = []
    for column in version.schema.get("columns", []):
        stats = profiles.get(column["name"], {})
        top = ", ".join(str(t["value"]) for t in (stats.get("top_values") or [])[:3])
        rows.append(
            (
                column["name"],
                str(column.get("type", "")),
                ",".join(column.get("tags", [])),
                _number(stats.get("null_count")),
                _number(stats.get("distinct_count")),
                _number(stats.get("min")),
                _number(stats.get("max")),
                _number(stats.get("mean")),
                top,
            )
        )
    headers = ["column", "type", "tags", "nulls", "distinct", "min", "max", "mean", "top values"]
    output.print_table("Columns", headers, rows)


def print_diff(diff: ProfileDiff, top: int) -> None:
    """Schema changes, the row-count change and the most shifted columns."""
    change = diff.new_row_count - diff.old_row_count
    relative = f" ({100 * change / diff.old_row_count:+.1f}%)" if diff.old_row_count else ""
    click.echo(f"rows: {diff.old_row_count:,} -> {diff.new_row_count:,}{relative}")
    for name in diff.added:
        click.echo(f"+ column {name}")
    for name in diff.removed:
        click.echo(f"- column {name}")
    for changed in diff.type_changes:
        click.echo(f"~ column {changed.name}: {changed.old_type} -> {changed.new_type}")
    rows = [
        (s.name, s.metric or "-", _number(s.score), _number(s.old_null_rate), _number(s.new_null_rate))
        for s in diff.most_shifted(top)
    ]
    output.print_table(
        "Distribution shift", ["column", "metric", "score", "nulls before", "nulls after"], rows
    )


def print_report(report: ValidationReport) -> None:
    """Each rule with pass/fail, failing rows and a few examples."""
    rows = [
        (
            _rule_label(result.rule),
            "pass" if result.passed else "FAIL",
            f"{result.failing_rows:,} / {result.checked_rows:,}",
            ", ".join(str(e) for e in result.examples[:3]),
            result.message,
        )
        for result in report.results
    ]
    output.print_table("Validation", ["rule", "result", "failing rows", "examples", "message"], rows)
    click.echo("passed" if report.passed else "FAILED")


def _rule_label(rule: dict[str, Any]) -> str:
    kind = str(rule.get("kind", rule.get("name", "rule")))
    column = rule.get("column")
    return f"{kind}({column})" if column else kind


def print_skew(report: SkewReport) -> None:
    """Per column: status and what moved between training and serving."""
    rows = [
        (
            c.name,
            c.status,
            "; ".join(c.issues),
            _number(c.score),
            _number(c.null_rate_delta),
            _number(c.out_of_range_share),
        )
        for c in report.columns
    ]
    headers = ["column", "status", "issues", "shift", "null-rate change", "out of range"]
    output.print_table(f"Skew: {report.status}", headers, rows)


def print_erasure(result: ErasureResult) -> None:
    """The versions rewritten, and the runs and model versions whose lineage holds the erased rows."""
    if not result.erased:
        click.echo(f"no version of {result.name} holds rows matching {result.where!r}")
        return
    for erased in result.erased:
        removed = f"{erased.rows_removed:,} row(s) removed"
        click.echo(f"version {erased.version}: {removed} -> new version {erased.replaced_by}")
    click.echo(f"runs that used erased versions: {', '.join(result.runs) or 'none'}")
    models = ", ".join(f"{name} v{version}" for name, version in result.model_versions)
    click.echo(f"model versions to retrain: {models or 'none'}")
    for location in result.kept_references:
        click.echo(f"stored by reference, delete at the source yourself: {location}")
