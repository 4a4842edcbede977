"""Good and bad artifact paths: every spelling from MLflow's path-traversal record is refused."""

from __future__ import annotations

import pytest

from cairn.errors import InvalidArgument
from cairn.store.artifacts import safe_artifact_path
from cairn.store.artifacts.paths import MAX_ARTIFACT_PATH_LENGTH, join_key, parent_key

GOOD = [
    (None, ""),
    ("", ""),
    (".", ""),
    ("./", ""),
    ("path", "path"),
    ("path/", "path"),
    ("path/to/file", "path/to/file"),
    ("path/to/file.txt", "path/to/file.txt"),
    ("a//b", "a/b"),
    ("./a", "a"),
    ("a/./b/", "a/b"),
    ("a/b//c///", "a/b/c"),
    ("....", "...."),
    ("...", "..."),
    ("..a/b..", "..a/b.."),
    ("a/host:9000", "a/host:9000"),
    ("model/MLmodel", "model/MLmodel"),
    ("plots/loss [epoch 1].png", "plots/loss [epoch 1].png"),
    ("a~b/~c", "a~b/~c"),
    ("100%", "100%"),
    ("50%off", "50%off"),
    ("données/résumé.txt", "données/résumé.txt"),
    (".hidden", ".hidden"),
    ("a" * MAX_ARTIFACT_PATH_LENGTH, "a" * MAX_ARTIFACT_PATH_LENGTH),
]

BAD = [
    # absolute paths and hosts
    "/path",
    "/etc/passwd",
    "//host/x",
    "//proc/self/root",
    "//proc/self/root/etc/passwd",
    "/",
    # parent components
    "..",
    "../path",
    "./../path",
    "path/../to/file",
    "path/..",
    "a/../../etc/passwd",
    "../../../",
    # backslashes (Windows separators)
    "\\..\\etc\\passwd",
    "a\\..\\b",
    "a\\b",
    "\\\\server\\share",
    "C:\\",
    "C:\\x",
    # drive letters and schemes in the first component
    "C:/x",
    "C:x",
    "file:/etc/passwd",
    "file:///etc/passwd",
    "s3://bucket/key",
    "http://169.254.169.254/latest",
    "dbfs:/run/artifacts",
    # percent-escapes, single and double
    "%2f",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e/x",
    "a%2Fb",
    "%252f",
    "..%252f..%252fetc",
    "a%00b",
    "a%3f/../../",
    # URL syntax
    "a?query",
    "?x=1",
    "a/b#frag",
    "#frag",
    "a;params",
    "a/b;jsessionid=1",
    # home directory
    "~",
    "~/x",
    "~root/.ssh",
    # control and invisible characters
    "a\x00b",
    "\x00",
    "a\nb",
    "a\rb",
    "a\tb",
    "a\x7fb",
    "a\x1bb",
    "a\u202eb",
    "a\u200bb",
    "a\ud800b",
    # Unicode look-alikes that fold to separators or dots
    "\uff0e\uff0e/x",
    "a\uff3cb",
    "\uff0e\uff0e\uff0fetc",
    # the store's reserved temp-file names
    ".cairn-tmp-abc",
    "a/.cairn-tmp-0123/b",
    # too long
    "a" * (MAX_ARTIFACT_PATH_LENGTH + 1),
]


@pytest.mark.parametrize(("raw", "expected"), GOOD)
def test_good_paths_become_canonical_keys(raw: str | None, expected: str) -> None:
    assert safe_artifact_path(raw) == expected


@pytest.mark.parametrize("raw", BAD)
def test_bad_paths_are_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        safe_artifact_path(raw)
    assert "path" in info.value.message


@pytest.mark.parametrize("raw", ["../x", "a%2fb", "C:\\x"])
def test_error_names_field_and_value(raw: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        safe_artifact_path(raw, field="artifact_path")
    assert info.value.message.startswith("artifact_path ")
    assert repr(raw) in info.value.message


def test_canonical_keys_are_fixed_points() -> None:
    for raw, expected in GOOD:
        assert safe_artifact_path(expected) == expected, raw


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="path must be a string"):
        safe_artifact_path(42)  # type: ignore[arg-type]


def test_colon_allowed_after_first_component_only() -> None:
    assert safe_artifact_path("metrics/step:1") == "metrics/step:1"
    with pytest.raises(InvalidArgument, match="':'"):
        safe_artifact_path("step:1/metrics")


def test_join_and_parent() -> None:
    assert join_key("", "a") == "a"
    assert join_key("a", "") == "a"
    assert join_key("a/b", "c/d") == "a/b/c/d"
    assert parent_key("a/b/c") == "a/b"
    assert parent_key("a") == ""
