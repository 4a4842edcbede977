"""A model version's source must be one of the store's own locations; every escape route is refused."""

from __future__ import annotations

import pytest

from cairn._internal.version_sources import SourceKind, check_relative_path, parse_version_source
from cairn.errors import InvalidArgument

ROOT = "s3://team-bucket/cairn/artifacts"
FILE_ROOT = "file:///srv/cairn/artifacts"
ROOTS = [ROOT, FILE_ROOT]
RUN = "0123456789abcdef0123456789abcdef"
MODEL_ID = "m-" + "a1" * 16


@pytest.mark.parametrize(
    ("source", "kind", "fields"),
    [
        (f"runs:/{RUN}/model", SourceKind.RUN, {"run_id": RUN}),
        (f"runs:/{RUN}/nested/dir/model/", SourceKind.RUN, {"run_id": RUN}),
        (f"runs:/{RUN}/50%25 done", SourceKind.RUN, {"run_id": RUN}),
        (f"models:/{MODEL_ID}", SourceKind.LOGGED_MODEL, {"model_id": MODEL_ID}),
        (
            "models:/fraud detector/3",
            SourceKind.MODEL_VERSION,
            {"model_name": "fraud detector", "version": 3},
        ),
        (f"{ROOT}/1/{RUN}/artifacts/model", SourceKind.ARTIFACT, {}),
        (f"{ROOT}/1/models/{MODEL_ID}/artifacts", SourceKind.ARTIFACT, {}),
        (f"{FILE_ROOT}/0/{RUN}/artifacts/model", SourceKind.ARTIFACT, {}),
        (f"file:/srv/cairn/artifacts/0/{RUN}/artifacts/model", SourceKind.ARTIFACT, {}),
    ],
)
def test_the_store_s_own_locations_are_accepted(
    source: str, kind: SourceKind, fields: dict[str, object]
) -> None:
    parsed = parse_version_source(source, ROOTS)
    assert parsed.uri == source and parsed.kind is kind
    for name, value in fields.items():
        assert getattr(parsed, name) == value


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("/etc/passwd", "local path"),
        ("etc/passwd", "local path"),
        ("C:/Windows/system32", "local path"),
        ("file:///etc/passwd", "file: URI outside"),
        ("FILE:///etc/passwd", "file: URI outside"),
        ("file:///srv/cairn/artifactsX/0/model", "file: URI outside"),
        ("file://evil-host/srv/cairn/artifacts/0/model", "outside"),
        ("s3://other-bucket/cairn/artifacts/1/model", "outside the store"),
        ("s3://team-bucket/cairn/other/1/model", "outside the store"),
        ("s3://team-bucket/cairn/artifacts-evil/1/model", "outside the store"),
        ("gs://team-bucket/cairn/artifacts/1/model", "outside the store"),
        ("http://169.254.169.254/latest/meta-data", "outside the store"),
        ("mlflow-artifacts:/1/model", "outside the store"),
    ],
)
def test_sources_outside_the_store_are_refused(source: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason) as caught:
        parse_version_source(source, ROOTS)
    assert repr(source) in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        f"{ROOT}/1/../../../secrets/model",
        f"{ROOT}/../artifacts/1/model",
        f"{ROOT}/1/%2e%2e/%2e%2e/secrets",
        f"{ROOT}/1/%2E%2E/secrets",
        f"{ROOT}/1/%252e%252e/secrets",
        f"{ROOT}/1/.%2e/secrets",
        f"{ROOT}/1/./model",
        f"{ROOT}/1//model",
        f"{ROOT}/1/%2F..%2Fsecrets",
        f"{ROOT}/1/\uff0e\uff0e/secrets",
        f"{ROOT}/1/%EF%BC%8E%EF%BC%8E/secrets",
        f"{FILE_ROOT}/0/../../../../etc/passwd",
        f"{FILE_ROOT}/%2e%2e/%2e%2e/etc/passwd",
        f"runs:/{RUN}/../other-run/model",
        f"runs:/{RUN}/model/../../../x",
        f"runs:/{RUN}/%2e%2e/x",
        f"runs:/{RUN}/%25252e%25252e/x",
        f"runs:/{RUN}//etc/passwd",
        f"runs:/{RUN}/%2Fetc%2Fpasswd",
    ],
)
def test_dot_segments_are_refused_however_they_are_spelled(source: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_version_source(source, ROOTS)
    assert "source" in caught.value.message


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (f"{ROOT}\\1\\model", "backslashes"),
        (f"runs:/{RUN}/model\\..\\..\\x", "backslashes"),
        (f"runs:/{RUN}/model%5C..%5C..%5Cx", "backslashes"),
        (f"runs:/{RUN}/mo\x00del", "control characters"),
        (f"runs:/{RUN}/model%00", "control characters"),
        (f"runs:/{RUN}/model\n", "control characters"),
        (f"runs:/{RUN}/model%ff", "not UTF-8"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        (f"{ROOT}/1/model?versionId=3", "query or fragment"),
        (f"{ROOT}/1/model#frag", "query or fragment"),
        (ROOT, "outside"),
        (ROOT + "/", "not the root"),
        ("runs:/", "valid run id"),
        ("runs:///etc/passwd", "valid run id"),
        ("runs:/../x/model", "valid run id"),
        (f"runs:/{RUN}", "path inside the run"),
        (f"runs:/{RUN}/", "path inside the run"),
        ("models:/fraud@champion", "alias"),
        ("models:/fraud", "models:/<model_id> or models:/<name>/<version>"),
        ("models:/a/b/3", "models:/<model_id> or models:/<name>/<version>"),
        ("models:/../3", "source model name"),
        ("models:/fraud/0", "source version"),
        ("models:/fraud/latest", "source version"),
        ("models:/m-" + "A1" * 16, "models:/<model_id> or"),
        ("x" * 10_001, "limit is 10000"),
    ],
)
def test_malformed_sources_are_refused_with_a_reason(source: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason):
        parse_version_source(source, ROOTS)


def test_a_source_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="source must be a string"):
        parse_version_source(b"runs:/x/model", ROOTS)


def test_without_roots_only_registry_uris_are_accepted() -> None:
    assert parse_version_source(f"runs:/{RUN}/model", []).kind is SourceKind.RUN
    with pytest.raises(InvalidArgument, match="outside the store"):
        parse_version_source(f"{ROOT}/1/model", [])


def test_a_root_with_a_trailing_slash_matches_the_same_uris() -> None:
    assert parse_version_source(f"{ROOT}/1/model", [ROOT + "/"]).kind is SourceKind.ARTIFACT


def test_encoding_layered_too_deep_is_refused() -> None:
    deep = "x"
    for _ in range(6):
        deep = deep.replace("%", "%25") if "%" in deep else "%78"
    with pytest.raises(InvalidArgument, match="too many times"):
        check_relative_path("src", deep)
