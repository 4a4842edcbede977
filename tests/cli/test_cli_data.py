"""`cairn data ...` on an embedded store: log, list, show, diff, validate, suggest, skew, alias, erase."""

import json
from pathlib import Path

import pandas as pd
from cli_harness import Cli


def _csv(path: Path, ids: list[int], amount_shift: float = 0.0) -> Path:
    frame = pd.DataFrame(
        {
            "user_id": ids,
            "amount": [10.0 + amount_shift + i % 7 for i in ids],
            "email": [f"user{i}@example.com" for i in ids],
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_log_list_versions_show_and_diff(run_cli: Cli, tmp_path: Path) -> None:
    first = _csv(tmp_path / "a.csv", list(range(100)))
    logged = json.loads(run_cli.ok("data", "log", str(first), "--name", "users", "--output", "json").stdout)
    assert logged["version"] == 1 and logged["row_count"] == 100
    second = _csv(tmp_path / "b.csv", list(range(150)), amount_shift=50.0)
    assert "version 2" in run_cli.ok("data", "log", str(second), "--name", "users").stdout
    assert "users" in run_cli.ok("data", "list").stdout
    versions = json.loads(run_cli.ok("data", "versions", "users", "--output", "json").stdout)
    assert [v["version"] for v in versions] == [2, 1]
    shown = run_cli.ok("data", "show", "users", "--version", "1").stdout
    assert "user_id" in shown and "email" in shown and "Personal data found" in shown
    full = json.loads(run_cli.ok("data", "show", "users", "--output", "json").stdout)
    assert full["profile"]["row_count"] == 150 and full["pii"]["findings"][0]["kind"] == "email"
    diff = json.loads(run_cli.ok("data", "diff", "users", "1", "2", "--output", "json").stdout)
    assert diff["old_row_count"] == 100 and diff["new_row_count"] == 150
    assert "amount" in run_cli.ok("data", "diff", "users", "1", "2").stdout


def test_validate_suggest_and_skew(run_cli: Cli, tmp_path: Path) -> None:
    run_cli.ok("data", "log", str(_csv(tmp_path / "a.csv", list(range(100)))), "--name", "users")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - not_null: {column: email}\n  - in_range: {column: amount, min: 0, max: 12}\n"
    )
    failed = run_cli("data", "validate", "users", "--rules", str(rules), "--output", "json")
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)
    assert not report["passed"] and [r["passed"] for r in report["results"]] == [True, False]
    suggested = tmp_path / "suggested.yaml"
    run_cli.ok("data", "suggest-rules", "users", "--out", str(suggested))
    assert "not_null" in suggested.read_text()
    assert run_cli("data", "validate", "users", "--rules", str(suggested)).exit_code == 0
    serving = _csv(tmp_path / "serving.csv", list(range(50)), amount_shift=100.0)
    skew = run_cli("data", "skew", "users", "--serving", str(serving), "--output", "json")
    assert json.loads(skew.stdout)["status"] in {"warn", "fail"}


def test_alias_erase_and_bad_input(run_cli: Cli, tmp_path: Path) -> None:
    run_cli.ok("data", "log", str(_csv(tmp_path / "a.csv", [1, 2, 123, 4])), "--name", "users")
    run_cli.ok("data", "alias", "set", "users", "golden", "1")
    erased = run_cli.ok("data", "erase", "users", "--where", "user_id = 123", input="y\n").stdout
    assert "1 row(s) removed -> new version 2" in erased and "purged" in erased
    shown = json.loads(run_cli.ok("data", "show", "users", "--alias", "golden", "--output", "json").stdout)
    assert shown["version"] == 2 and shown["row_count"] == 3
    run_cli.fails("data", "show", "ghost", message="ghost")
    run_cli.fails("data", "erase", "users", "--where", "user_id = 1; DROP", message="position 12")
    run_cli.fails("data", "log", str(tmp_path / "nothing.csv"), "--name", "x", message="nothing.csv")
