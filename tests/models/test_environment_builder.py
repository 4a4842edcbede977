"""`build_environment` and `cairn models env`: where Cairn comes from, and how failures are reported.

Building a full environment from a lock is exercised end to end in tests/serving/test_built_environment.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import cairn
from cairn.cli.context import CliContext
from cairn.cli.models import models_group
from cairn.errors import CairnError, InvalidArgument
from cairn.models import PackageTampered, save_model
from cairn.models.environment_builder import (
    INSTALL_SPEC_ENV,
    build_environment,
    cairn_install_spec,
    installable_requirements,
    reinstall_origin,
    verified_spec,
)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.tree import DecisionTreeClassifier

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = DecisionTreeClassifier(random_state=0).fit(frame, [0, 0, 1, 1])
    path = tmp_path_factory.mktemp("source") / "tree"
    save_model(model, path, extra_requirements=["cairn>=0.1"])
    return path


@pytest.fixture
def no_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH without uv (an empty folder), so the choice of installer does not depend on the machine."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_install_spec_env_var_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INSTALL_SPEC_ENV, "cairn[server] @ https://example.com/cairn-0.1.0-py3-none-any.whl")
    assert cairn_install_spec() == "cairn[server] @ https://example.com/cairn-0.1.0-py3-none-any.whl"


def test_install_spec_follows_the_running_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INSTALL_SPEC_ENV, raising=False)
    direct_url = metadata.distribution("cairn").read_text("direct_url.json")
    origin = reinstall_origin(direct_url)
    expected = f"cairn[server] @ {origin}" if origin else f"cairn[server]=={cairn.__version__}"
    assert cairn_install_spec() == expected


@pytest.mark.parametrize(
    ("direct_url", "origin"),
    [
        ({"url": "file:///src/cairn", "dir_info": {"editable": True}}, "file:///src/cairn"),
        (
            {"url": "file:///wheels/cairn-0.1.0-py3-none-any.whl", "archive_info": {}},
            "file:///wheels/cairn-0.1.0-py3-none-any.whl",
        ),
        (
            {"url": "https://github.com/o/cairn", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
            "git+https://github.com/o/cairn@abc123",
        ),
        ({"url": "https://example.com/cairn-0.1.0.tar.gz", "archive_info": {}}, None),
        ({"dir_info": {}}, None),
        ("not json", None),
        (None, None),
    ],
)
def test_reinstall_origin(direct_url: object, origin: str | None) -> None:
    text = direct_url if direct_url is None or isinstance(direct_url, str) else json.dumps(direct_url)
    assert reinstall_origin(text) == origin


def test_lock_lines_leave_out_cairn(package: Path) -> None:
    spec = verified_spec(package)
    assert "cairn>=0.1" in spec.requirements
    lines = installable_requirements(spec)
    assert not any(line.startswith("cairn") for line in lines)
    assert any(line.startswith("scikit-learn==") for line in lines)


def test_tampered_package_is_refused_before_anything_is_built(package: Path, tmp_path: Path) -> None:
    source = tmp_path / "tampered"
    shutil.copytree(package, source)
    (source / "requirements.txt").write_text("scikit-learn==0.1\n")
    with pytest.raises(PackageTampered, match="'requirements.txt' was altered"):
        build_environment(source, tmp_path / "env")
    assert not (tmp_path / "env").exists()


def test_unknown_installer_is_refused(package: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="installer must be one of uv, pip; got 'conda'"):
        build_environment(package, tmp_path / "env", installer="conda")


@pytest.mark.usefixtures("no_uv")
def test_uv_without_uv_on_path_is_refused(package: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="uv is not on PATH"):
        build_environment(package, tmp_path / "env", installer="uv")


@pytest.mark.usefixtures("no_uv")
def test_missing_interpreter_is_refused(package: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="python 'python9.99' is not an interpreter"):
        build_environment(package, tmp_path / "env", python="python9.99")
    assert not (tmp_path / "env").exists()


def test_non_empty_target_is_refused(package: Path, tmp_path: Path) -> None:
    target = tmp_path / "env"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(InvalidArgument, match="is not an empty folder"):
        build_environment(package, target, installer="pip")
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_a_failing_step_reports_its_last_output(package: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CairnError, match="python -m venv failed with exit status") as caught:
        build_environment(package, blocker / "env", python=sys.executable, installer="pip")
    assert "its last output:\n" in caught.value.message
    assert "Not a directory" in caught.value.message


@pytest.mark.slow
def test_an_unresolvable_requirement_reports_the_installer_output(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INSTALL_SPEC_ENV, "cairn-no-such-distribution==0.0.0")
    seen: list[str] = []
    with pytest.raises(CairnError, match="pip install failed with exit status 1") as caught:
        build_environment(package, tmp_path / "env", installer="pip", on_output=seen.append)
    assert "No matching distribution found for cairn-no-such-distribution==0.0.0" in caught.value.message
    assert any("cairn-no-such-distribution" in line for line in seen)
    assert not (tmp_path / "env").exists()


@pytest.mark.slow
def test_a_failed_build_empties_a_target_it_did_not_create(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "env"
    target.mkdir()
    monkeypatch.setenv(INSTALL_SPEC_ENV, "cairn-no-such-distribution==0.0.0")
    with pytest.raises(CairnError, match="pip install failed"):
        build_environment(package, target, installer="pip")
    assert target.is_dir()
    assert list(target.iterdir()) == []


def test_cli_env_reports_a_non_empty_target(package: Path, tmp_path: Path) -> None:
    target = tmp_path / "env"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = CliRunner().invoke(
        models_group,
        ["env", str(package), "--target", str(target), "--installer", "pip"],
        obj=CliContext(None),
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidArgument)
    assert "is not an empty folder" in result.exception.message
