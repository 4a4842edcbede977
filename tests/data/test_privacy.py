"""Privacy policies: refuse, warn and transform, each action's output, keyed hashes and policy files."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from cairn.data.pii_scan import PiiFinding, PiiReport, scan_pii
from cairn.data.privacy import (
    Drop,
    Generalise,
    KeyedHash,
    Mask,
    PiiRefused,
    PrivacyPolicy,
    RedactText,
    action_from_dict,
    apply_policy,
    apply_policy_batches,
    load_policy,
    plan_policy,
)
from cairn.errors import InvalidArgument

NO_PII = PiiReport(findings=(), rows_scanned=0)


def finding(column: str, kind: str, *, confidence: float = 0.9, free_text: bool = False) -> PiiFinding:
    return PiiFinding(column, kind, 1.0, confidence, 3, 3, 1.0, free_text, False, "x***")


def customers() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "email": ["ann@example.com", "bob@example.org", None],
            "note": ["call 020 7946 0958 please", "fine", "mail ann@example.com"],
            "city": ["Paris", "Lyon", "Nice"],
        }
    )


def report_for_customers() -> PiiReport:
    return PiiReport(
        findings=(finding("email", "email"), finding("note", "phone", free_text=True)), rows_scanned=3
    )


def transform(table: pa.Table, **actions: object) -> pa.Table:
    policy = PrivacyPolicy.from_dict({"on_pii": "transform", "secret": "s3cret", "actions": actions})
    return apply_policy(table, NO_PII, policy).table


def test_refuse_names_columns_and_kinds() -> None:
    policy = PrivacyPolicy(on_pii="refuse")
    with pytest.raises(PiiRefused, match=r"'email' \(email\).*'note' \(phone\)") as caught:
        apply_policy(customers(), report_for_customers(), policy)
    assert isinstance(caught.value, InvalidArgument)
    assert caught.value.columns == {"email": ("email",), "note": ("phone",)}
    assert apply_policy(customers(), NO_PII, policy).table.equals(customers())


def test_warn_stores_unchanged_and_says_why() -> None:
    outcome = apply_policy(customers(), report_for_customers(), PrivacyPolicy(on_pii="warn"))
    assert outcome.table.equals(customers())
    assert outcome.actions_taken == []
    assert len(outcome.warnings) == 2
    assert "'email' holds PII (email)" in outcome.warnings[0]


def test_transform_uses_default_action_and_free_text_action() -> None:
    outcome = apply_policy(customers(), report_for_customers(), PrivacyPolicy(on_pii="transform"))
    assert outcome.actions_taken == [("email", Drop()), ("note", RedactText())]
    assert outcome.table.column_names == ["id", "note", "city"]
    assert outcome.table.column("note").to_pylist() == ["call [PHONE] please", "fine", "mail [EMAIL]"]
    assert outcome.to_dict() == {
        "actions_taken": [{"column": "email", "action": "drop"}, {"column": "note", "action": "redact_text"}],
        "warnings": [],
    }


def test_hand_tagged_columns_and_explicit_actions() -> None:
    policy = PrivacyPolicy(
        on_pii="transform",
        pii_columns=frozenset({"city", "not_here"}),
        actions={"id": Generalise(bin_width=2)},
        default_action=Mask(keep_last=1),
    )
    outcome = apply_policy(customers(), NO_PII, policy)
    assert outcome.actions_taken == [("id", Generalise(bin_width=2)), ("city", Mask(keep_last=1))]
    assert outcome.table.column("id").to_pylist() == [0, 2, 2]
    assert outcome.table.column("city").to_pylist() == ["****s", "***n", "***e"]
    with pytest.raises(PiiRefused, match=r"'city' \(tagged\)"):
        apply_policy(customers(), NO_PII, PrivacyPolicy(on_pii="refuse").with_pii_columns(["city"]))


def test_low_confidence_findings_only_warn() -> None:
    report = PiiReport(findings=(finding("city", "nl_bsn", confidence=0.3),), rows_scanned=3)
    outcome = apply_policy(customers(), report, PrivacyPolicy(on_pii="refuse", min_confidence=0.5))
    assert outcome.table.equals(customers())
    assert outcome.warnings == [
        "column 'city' may hold nl_bsn (confidence 0.30, below min_confidence 0.5); left as it is"
    ]


def test_mask_keeps_shape_and_email_domain() -> None:
    table = pa.table(
        {"card": ["4111-1111-1111-1111", None], "mail": ["ann@example.com", "n/a"], "n": [12345, 7]}
    )
    out = transform(table, card="mask", mail="mask", n={"action": "mask", "keep_last": 2})
    assert out.column("card").to_pylist() == ["****-****-****-1111", None]
    assert out.column("mail").to_pylist() == ["a***@example.com", "n/a"]
    assert out.column("n").to_pylist() == ["***45", "7"]
    assert out.schema.field("n").type == pa.string()


def test_keyed_hash_is_hmac_sha256_deterministic_and_key_dependent() -> None:
    table = pa.table({"email": ["ann@example.com", "bob@example.org", "ann@example.com", None]})
    out = transform(table, email="keyed_hash").column("email").to_pylist()
    expected = hmac.new(b"s3cret", b"ann@example.com", hashlib.sha256).hexdigest()
    assert out[0] == out[2] == expected
    assert out[1] != out[0] and out[3] is None
    other_key = PrivacyPolicy(on_pii="transform", secret="other", actions={"email": KeyedHash()})
    assert apply_policy(table, NO_PII, other_key).table.column("email")[0].as_py() != expected


def test_keyed_hash_reads_the_named_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pa.table({"user": ["u1"]})
    policy = PrivacyPolicy(on_pii="transform", actions={"user": KeyedHash()}, secret_env="TEST_PII_KEY")
    monkeypatch.delenv("TEST_PII_KEY", raising=False)
    with pytest.raises(InvalidArgument, match="TEST_PII_KEY"):
        apply_policy(table, NO_PII, policy)
    monkeypatch.setenv("TEST_PII_KEY", "from-env")
    hashed = apply_policy(table, NO_PII, policy).table.column("user")[0].as_py()
    assert hashed == hmac.new(b"from-env", b"u1", hashlib.sha256).hexdigest()


def test_generalise_numbers_dates_and_text() -> None:
    table = pa.table(
        {
            "age": pa.array([23, 37, None, -1], pa.int64()),
            "score": [0.12, 0.57, 0.99, 1.0],
            "born": [dt.date(1990, 5, 17), dt.date(1985, 12, 31), None, dt.date(2000, 1, 1)],
            "seen": pa.array([dt.datetime(2024, 3, 9, 13, 5)] * 4, pa.timestamp("us")),
            "zip": ["75011", "3584", None, "1"],
        }
    )
    out = transform(
        table,
        age={"action": "generalise", "bin_width": 10},
        score={"action": "generalise", "bin_width": 0.5},
        born={"action": "generalise", "date_unit": "month"},
        seen={"action": "generalise", "date_unit": "year"},
        zip={"action": "generalise", "prefix_length": 2},
    )
    assert out.column("age").to_pylist() == [20, 30, None, -10]
    assert out.schema.field("age").type == pa.int64()
    assert out.column("score").to_pylist() == [0.0, 0.5, 0.5, 1.0]
    assert out.column("born").to_pylist() == [
        dt.date(1990, 5, 1),
        dt.date(1985, 12, 1),
        None,
        dt.date(2000, 1, 1),
    ]
    assert out.column("seen").to_pylist() == [dt.datetime(2024, 1, 1)] * 4
    assert out.column("zip").to_pylist() == ["75", "35", None, "1"]


def test_actions_that_do_not_fit_the_column_type_are_named() -> None:
    table = pa.table({"age": [1, 2], "flag": [True, False], "name": ["a", "b"]})
    with pytest.raises(InvalidArgument, match="'age'.*bin_width"):
        transform(table, age={"action": "generalise", "prefix_length": 2})
    with pytest.raises(InvalidArgument, match="'name'.*prefix_length"):
        transform(table, name={"action": "generalise", "bin_width": 2})
    with pytest.raises(InvalidArgument, match="'flag'"):
        transform(table, flag={"action": "generalise", "bin_width": 2})
    with pytest.raises(InvalidArgument, match="'age'.*redact_text"):
        transform(table, age="redact_text")


def test_redact_text_limited_to_kinds() -> None:
    table = pa.table({"note": ["ann@example.com or 020 7946 0958"]})
    out = transform(table, note={"action": "redact_text", "kinds": ["phone"]})
    assert out.column("note").to_pylist() == ["ann@example.com or [PHONE]"]


def test_streaming_batches_keep_one_schema(tmp_path: Path) -> None:
    table = pa.table(
        {
            "email": ["ann@example.com", None, None, None, "bob@example.org", "cy@example.net"],
            "age": pa.array([31, None, None, None, 58, 44], pa.int32()),
        }
    )
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=2)
    dataset = pads.dataset(tmp_path / "data.parquet")
    report = scan_pii(dataset)
    policy = PrivacyPolicy(
        on_pii="transform", secret="k", default_action=KeyedHash(), actions={"age": Generalise(bin_width=5)}
    )
    plan = plan_policy(dataset.schema, report, policy)
    batches = list(apply_policy_batches(dataset.to_batches(batch_size=2), plan))
    assert len(batches) == 3
    assert all(batch.schema == plan.output_schema for batch in batches)
    assert plan.output_schema == pa.schema([("email", pa.string()), ("age", pa.int32())])
    streamed = pa.Table.from_batches(batches)
    assert streamed.equals(apply_policy(table, report, policy).table)
    assert streamed.column("age").to_pylist() == [30, None, None, None, 55, 40]


def test_pandas_metadata_is_dropped_once_columns_change() -> None:
    table = pa.Table.from_pandas(pd.DataFrame({"email": ["ann@example.com"], "n": [1]}), preserve_index=False)
    assert b"pandas" in table.schema.metadata
    out = apply_policy(table, NO_PII, PrivacyPolicy(on_pii="transform", actions={"email": Drop()})).table
    assert out.schema.metadata is None
    assert out.to_pandas().columns.tolist() == ["n"]


def test_policy_round_trips_without_the_secret() -> None:
    policy = PrivacyPolicy(
        on_pii="transform",
        actions={
            "zip": Generalise(prefix_length=3),
            "mail": Mask(keep_last=0),
            "txt": RedactText(("email",)),
        },
        default_action=KeyedHash(),
        pii_columns=frozenset({"name"}),
        min_confidence=0.7,
        secret="do-not-store",
        secret_env="MY_KEY",
    )
    data = policy.to_dict()
    assert "do-not-store" not in json.dumps(data)
    assert list(data) == [
        "on_pii",
        "actions",
        "default_action",
        "free_text_action",
        "pii_columns",
        "min_confidence",
        "secret_env",
    ]
    again = PrivacyPolicy.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    assert again.secret is None and again.actions == policy.actions


def test_load_policy_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "on_pii: transform\n"
        "min_confidence: 0.6\n"
        "secret_env: TEAM_PII_KEY\n"
        "default_action: {action: mask, keep_last: 2}\n"
        "pii_columns: [full_name]\n"
        "actions:\n"
        "  email: keyed_hash\n"
        "  zip: {action: generalise, prefix_length: 3}\n"
    )
    policy = load_policy(path)
    assert policy == PrivacyPolicy(
        on_pii="transform",
        min_confidence=0.6,
        secret_env="TEAM_PII_KEY",
        default_action=Mask(keep_last=2),
        pii_columns=frozenset({"full_name"}),
        actions={"email": KeyedHash(), "zip": Generalise(prefix_length=3)},
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("on_pii: transform\nfilter: x\n", r"unknown keys \['filter'\]"),
        ("on_pii: shred\n", "on_pii must be one of"),
        ("min_confidence: 2\n", "min_confidence must be between 0 and 1"),
        ("actions:\n  email: blur\n", r"actions\.email: unknown action 'blur'"),
        ("actions:\n  email: {action: mask, keep: 2}\n", r"actions\.email: unknown keys \['keep'\]"),
        ("actions:\n  age: {action: generalise, bin_width: -3}\n", r"actions\.age: bin_width must be"),
        ("actions:\n  d: {action: generalise, date_unit: week}\n", "date_unit must be one of"),
        ("actions:\n  n: {action: redact_text, kinds: [passport]}\n", "unknown PII kind 'passport'"),
        ("actions: [a, b]\n", "actions must map column names"),
        ("default_action: {action: mask, keep_last: x}\n", r"default_action: keep_last must be"),
        ("pii_columns: name\n", "pii_columns must be a list"),
        ("default_action: [drop]\n", "default_action must be an action name"),
        ("secret: 1234\n", "secret must be a string"),
        ("- on_pii\n", "must be a mapping"),
        ("on_pii: [unclosed\n", "not valid YAML"),
    ],
)
def test_policy_file_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=message) as caught:
        load_policy(path)
    assert "bad.yaml" in caught.value.message


def test_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="absent.yaml"):
        load_policy(tmp_path / "absent.yaml")


def test_action_from_dict_forms() -> None:
    assert action_from_dict("drop") == Drop()
    assert action_from_dict({"action": "mask"}) == Mask(keep_last=4)
    assert action_from_dict({"action": "redact_text", "kinds": ["email"]}) == RedactText(("email",))
    with pytest.raises(InvalidArgument, match="unknown action None"):
        action_from_dict({"keep_last": 2})
    with pytest.raises(InvalidArgument, match="keep_last"):
        Mask(keep_last=-1)
