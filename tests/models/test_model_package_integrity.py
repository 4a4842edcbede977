from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cairn.errors import AlreadyExists, InvalidArgument, NotFound
from cairn.models import EnvironmentMismatchWarning, PackageTampered, load_model, save_model
from cairn.models.spec import SPEC_FILE, read_spec


class _Marker:
    """Unpickling this writes a file: proof that a pickle was (or was not) deserialised."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.path).write_text, ("unpickled",))


@pytest.fixture
def package(tmp_path: Path, tree: Any) -> Path:
    save_model(tree, tmp_path / "model", serialization="pickle")
    return tmp_path / "model"


def test_altered_file_is_refused_before_anything_is_unpickled(package: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    (package / "data" / "model.pkl").write_bytes(pickle.dumps(_Marker(str(marker))))
    with pytest.raises(PackageTampered, match=r"'data/model.pkl' was altered"):
        load_model(package)
    assert not marker.exists()


def test_missing_file_is_refused_naming_it(package: Path) -> None:
    (package / "requirements.txt").unlink()
    with pytest.raises(PackageTampered, match=r"'requirements.txt' is missing"):
        load_model(package)


def test_added_file_is_refused_naming_it(package: Path) -> None:
    (package / "data" / "__pycache__").mkdir()
    (package / "data" / "__pycache__" / "evil.pyc").write_bytes(b"\0")
    (package / "notes.txt").write_text("hello")
    with pytest.raises(PackageTampered) as caught:
        load_model(package)
    assert "'data/__pycache__/evil.pyc' was added" in caught.value.message
    assert "'notes.txt' was added" in caught.value.message
    assert isinstance(caught.value, InvalidArgument)


def test_symbolic_link_is_refused(package: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("x")
    (package / "data" / "link.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(PackageTampered, match="'data/link.txt' is a symbolic link"):
        load_model(package)


def test_lock_file_must_match_the_spec(package: Path) -> None:
    spec_file = package / SPEC_FILE
    data = json.loads(spec_file.read_text())
    data["requirements"] = ["scikit-learn==0.1"]
    spec_file.write_text(json.dumps(data))
    with pytest.raises(PackageTampered, match="requirements.txt .* does not match the spec"):
        load_model(package)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"flavor": 3}, "field 'flavor' must be str; got int"),
        ({"created_time": -1}, "'created_time' must not be negative"),
        ({"colour": "red"}, "unknown fields: colour"),
        ({"format_version": 99}, "format_version 99 is not supported"),
        ({"files": {"../escape": "0" * 64}}, "files entry '../escape' is not a relative path"),
        ({"files": {"data/model.pkl": "abc"}}, "files entry 'data/model.pkl' must be a SHA-256 hex digest"),
        ({"input_example": "nowhere.json"}, "input_example 'nowhere.json' is not one of the package files"),
        ({"signature": {"inputs": [{"name": "a", "type": "decimal"}]}}, r"signature.inputs\[0\].type"),
        ({"code_paths": ["elsewhere/x.py"]}, "code_paths entry 'elsewhere/x.py' must lie under code/"),
    ],
)
def test_spec_is_validated_strictly(package: Path, change: dict[str, Any], message: str) -> None:
    spec_file = package / SPEC_FILE
    data = json.loads(spec_file.read_text())
    data.update(change)
    spec_file.write_text(json.dumps(data))
    with pytest.raises(InvalidArgument, match=message):
        read_spec(package)


def test_missing_field_and_broken_json_are_named(package: Path) -> None:
    spec_file = package / SPEC_FILE
    data = json.loads(spec_file.read_text())
    del data["python_version"]
    spec_file.write_text(json.dumps(data))
    with pytest.raises(InvalidArgument, match="missing the field 'python_version'"):
        read_spec(package)
    spec_file.write_text("{")
    with pytest.raises(InvalidArgument, match="is not valid JSON"):
        read_spec(spec_file)


def test_not_a_package(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        load_model(tmp_path / "nothing")
    with pytest.raises(InvalidArgument, match="not a model package: it has no cairn-model.json"):
        load_model(tmp_path)


def test_environment_mismatch_warns(tmp_path: Path, tree: Any) -> None:
    extra = ["scikit-learn==0.0.1", "no-such-dist-for-cairn==3.2"]
    save_model(tree, tmp_path / "model", serialization="pickle", extra_requirements=extra)
    installed = metadata.version("scikit-learn")
    with pytest.warns(EnvironmentMismatchWarning) as caught:
        load_model(tmp_path / "model")
    message = str(caught[0].message)
    assert f"scikit-learn: lock 0.0.1, installed {installed}" in message
    assert "no-such-dist-for-cairn: lock 3.2, not installed" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(tmp_path / "model", check_environment=False)


def test_failed_save_leaves_nothing_behind(tmp_path: Path, tree: Any, frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgument, match="not JSON-serialisable"):
        save_model(tree, tmp_path / "model", metadata={"tags": {"a", "b"}})
    with pytest.raises(InvalidArgument, match="input_example: the model failed to predict on it"):
        save_model(
            tree, tmp_path / "model", serialization="pickle", input_example=frame.rename(columns={"a": "z"})
        )
    assert list(tmp_path.iterdir()) == []


def test_save_needs_a_new_or_empty_folder(tmp_path: Path, tree: Any) -> None:
    (tmp_path / "empty").mkdir()
    save_model(tree, tmp_path / "empty", serialization="pickle")
    assert (tmp_path / "empty" / SPEC_FILE).is_file()
    with pytest.raises(AlreadyExists, match="exists and is not an empty folder"):
        save_model(tree, tmp_path / "empty", serialization="pickle")


def test_file_uris_load_and_other_schemes_are_refused(package: Path, frame: pd.DataFrame) -> None:
    assert load_model(package.as_uri()).predict(frame).shape == (8,)
    with pytest.raises(InvalidArgument, match="scheme 's3' is not supported"):
        load_model("s3://bucket/model")
    with pytest.raises(InvalidArgument, match="not a run id"):
        load_model("runs:/abc/model")
    with pytest.raises(InvalidArgument, match="names host 'example.com'"):
        load_model("file://example.com/models/x")


def test_importing_cairn_models_stays_light() -> None:
    code = (
        "import sys, cairn.models\n"
        "assert 'save_model' in dir(cairn.models)\n"
        "heavy = [m for m in ('pandas', 'numpy', 'sklearn', 'skops', 'torch') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
