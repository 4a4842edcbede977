"""`write_build_context` and `cairn models build`: the model, its lock, a Dockerfile and an entrypoint."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import cairn
from cairn.cli.context import CliContext
from cairn.cli.models import models_group
from cairn.errors import InvalidArgument
from cairn.models import PackageTampered, load_model, save_model
from cairn.models.build_context import write_build_context
from cairn.models.spec import SPEC_FILE, read_spec


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    pairs = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            pairs.append((instruction, arguments.strip()))
    return pairs


def save_tree(path: Path, **options: object) -> Path:
    from sklearn.tree import DecisionTreeClassifier

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = DecisionTreeClassifier(random_state=0).fit(frame, [0, 0, 1, 1])
    save_model(model, path, input_example=frame.head(2), **options)  # type: ignore[arg-type]
    return path


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tree(tmp_path_factory.mktemp("source") / "tree")


def set_python_version(package: Path, version: str, into: Path) -> Path:
    """A copy of `package` whose spec records another Python version (the spec is not in its own digests)."""
    shutil.copytree(package, into)
    spec = json.loads((into / SPEC_FILE).read_text())
    spec["python_version"] = version
    (into / SPEC_FILE).write_text(json.dumps(spec))
    return into


def test_context_holds_model_lock_dockerfile_and_entrypoint(package: Path, tmp_path: Path) -> None:
    out = write_build_context(package, tmp_path / "context")
    assert sorted(p.name for p in out.iterdir()) == [
        "Dockerfile",
        "entrypoint.sh",
        "model",
        "requirements.lock",
    ]
    assert load_model(out / "model").predict(pd.DataFrame({"a": [0.0, 3.0], "b": [1.0, 0.0]})).tolist() == [
        0,
        1,
    ]
    assert (out / "requirements.lock").read_text().splitlines() == list(read_spec(package).requirements)


def test_dockerfile_builds_a_non_root_image_serving_on_8080(package: Path, tmp_path: Path) -> None:
    out = write_build_context(package, tmp_path / "context")
    instructions = dockerfile_instructions((out / "Dockerfile").read_text())
    python = ".".join(read_spec(package).python_version.split(".")[:2])
    by_name: dict[str, list[str]] = {}
    for instruction, arguments in instructions:
        by_name.setdefault(instruction, []).append(arguments)
    assert instructions[0] == ("FROM", f"python:{python}-slim")
    assert by_name["ARG"] == [f'CAIRN_INSTALL_SPEC="cairn[server]=={cairn.__version__}"']
    assert "COPY requirements.lock /opt/requirements.lock" in [f"COPY {a}" for a in by_name["COPY"]]
    install = [run for run in by_name["RUN"] if "pip install" in run]
    assert install == ['python -m pip install -r /opt/requirements.lock "${CAIRN_INSTALL_SPEC}"']
    assert by_name["USER"] == ["cairn"]
    assert any("useradd --system" in run for run in by_name["RUN"])
    assert by_name["EXPOSE"] == ["8080"]
    (healthcheck,) = by_name["HEALTHCHECK"]
    assert "/ping" in healthcheck and healthcheck.split(" CMD ")[1].startswith('["python", "-c",')
    assert json.loads(healthcheck.split(" CMD ", 1)[1])[0] == "python"
    assert json.loads(by_name["ENTRYPOINT"][0]) == ["/opt/entrypoint.sh"]
    assert [i for i, _ in instructions].index("USER") < [i for i, _ in instructions].index("ENTRYPOINT")


def test_entrypoint_script_serves_the_copied_model(package: Path, tmp_path: Path) -> None:
    script = write_build_context(package, tmp_path / "context") / "entrypoint.sh"
    assert os.access(script, os.X_OK)
    lines = [line for line in script.read_text().splitlines() if line and not line.startswith("#")]
    command = shlex.split(" ".join(line.rstrip("\\") for line in lines if line != "set -eu"))
    assert command == [
        "exec",
        "python",
        "-m",
        "cairn.serving.entrypoint",
        "--model",
        "/opt/model",
        "--host",
        "0.0.0.0",
        "--port",
        "${PORT:-8080}",
    ]
    assert script.read_text().startswith("#!/bin/sh\n")


def test_context_names_no_host_path(package: Path, tmp_path: Path) -> None:
    out = write_build_context(package, tmp_path / "context")
    host_paths = {
        str(tmp_path),
        str(package),
        str(Path.home()),
        os.getcwd(),
        str(Path(cairn.__file__).parent),
    }
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            for host_path in host_paths:
                assert host_path not in text, (path, host_path)
    dockerfile = (out / "Dockerfile").read_text()
    for _, arguments in dockerfile_instructions(dockerfile):
        assert "file:" not in arguments


def test_base_image_follows_the_saved_python_version(package: Path, tmp_path: Path) -> None:
    source = set_python_version(package, "3.12.4", tmp_path / "py312")
    out = write_build_context(source, tmp_path / "context")
    assert dockerfile_instructions((out / "Dockerfile").read_text())[0] == ("FROM", "python:3.12-slim")


def test_a_python_version_that_is_not_one_is_refused(package: Path, tmp_path: Path) -> None:
    source = set_python_version(package, "3.11\nRUN curl evil", tmp_path / "odd")
    with pytest.raises(InvalidArgument, match="python_version .* is not a Python version"):
        write_build_context(source, tmp_path / "context")
    assert not (tmp_path / "context").exists()


def test_non_empty_out_dir_is_refused(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "context"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InvalidArgument, match="is not an empty folder"):
        write_build_context(package, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert write_build_context(package, empty) == empty


def test_tampered_package_is_refused(package: Path, tmp_path: Path) -> None:
    source = tmp_path / "tampered"
    shutil.copytree(package, source)
    (source / "input_example.json").write_text("{}")
    with pytest.raises(PackageTampered, match="'input_example.json' was altered"):
        write_build_context(source, tmp_path / "context")


def test_cairn_itself_is_left_to_the_install_spec(tmp_path: Path) -> None:
    source = save_tree(tmp_path / "tree", extra_requirements=[f"cairn=={cairn.__version__}"])
    assert f"cairn=={cairn.__version__}" in read_spec(source).requirements
    lock = (write_build_context(source, tmp_path / "context") / "requirements.lock").read_text()
    assert "cairn" not in lock
    assert "scikit-learn==" in lock


@pytest.mark.parametrize(
    ("requirement", "fragment"),
    [
        ("mylib @ file:///home/someone/mylib", "points at a local path"),
        ("mylib @ /home/someone/mylib", "points at a local path"),
        ("private @ https://deploy:s3cret@pkgs.example.com/private-1.0.whl", "carries credentials"),
    ],
)
def test_unportable_requirements_are_refused(tmp_path: Path, requirement: str, fragment: str) -> None:
    source = save_tree(tmp_path / "tree", extra_requirements=[requirement])
    with pytest.raises(InvalidArgument, match=fragment) as caught:
        write_build_context(source, tmp_path / "context")
    assert "s3cret" not in caught.value.message


def test_cli_build_writes_the_context(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "context"
    result = CliRunner().invoke(
        models_group, ["build", str(package), "--out", str(out)], obj=CliContext(None)
    )
    assert result.exit_code == 0, result.output
    assert f"docker build -t <image> {out}" in result.output
    assert (out / "Dockerfile").is_file()


def test_cli_build_reports_a_missing_package(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    result = CliRunner().invoke(
        models_group, ["build", str(missing), "--out", str(tmp_path / "out")], obj=CliContext(None)
    )
    assert result.exit_code != 0
    assert "no such folder" in str(result.exception)
