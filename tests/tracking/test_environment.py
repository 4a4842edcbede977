import dataclasses
import json
import os
import platform
import re
import sys
from importlib import metadata

import pytest

from cairn.tracking.environment import EnvironmentInfo, capture_environment, normalize_distribution_name

NORMALISED = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_interpreter_and_platform_fields() -> None:
    info = capture_environment()
    v = sys.version_info
    assert info.python_version.startswith(f"{v.major}.{v.minor}.{v.micro}")
    assert info.python_implementation == platform.python_implementation()
    assert info.platform == platform.platform()
    assert info.machine == platform.machine()
    assert info.os == platform.system()
    assert info.cpu_count == os.cpu_count()


def test_packages_are_normalised_sorted_and_include_dependencies() -> None:
    packages = capture_environment().packages
    assert packages["sqlalchemy"] == metadata.version("SQLAlchemy")
    assert packages["pyyaml"] == metadata.version("PyYAML")
    assert "psutil" in packages
    assert all(NORMALISED.match(name) for name in packages)
    assert list(packages) == sorted(packages)


def test_packages_cannot_be_changed_by_a_caller() -> None:
    packages = capture_environment().packages
    with pytest.raises(TypeError):
        packages["sqlalchemy"] = "0.0"  # type: ignore[index]


def test_requirements_text_pins_every_package() -> None:
    info = capture_environment()
    text = info.requirements_text()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == len(info.packages)
    assert all(re.fullmatch(r"[a-z0-9-]+==\S+", line) for line in lines)
    assert lines == sorted(lines, key=lambda line: line.split("==")[0])
    assert f"sqlalchemy=={metadata.version('SQLAlchemy')}" in lines


def test_tags() -> None:
    info = capture_environment()
    assert info.to_tags() == {
        "cairn.python.version": platform.python_version(),
        "cairn.platform": platform.platform(),
    }


def test_to_dict_is_json_ready_and_has_no_host_name() -> None:
    info = capture_environment()
    data = info.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {f.name for f in dataclasses.fields(EnvironmentInfo)}
    assert not {"hostname", "host", "node"} & set(data)
    assert data["packages"] == dict(info.packages)


def test_scan_is_cached_and_refresh_rescans() -> None:
    first = capture_environment()
    assert capture_environment() is first
    again = capture_environment(refresh=True)
    assert again is not first
    assert again == first
    assert capture_environment() is again


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("SQLAlchemy", "sqlalchemy"), ("ruamel.yaml", "ruamel-yaml"), ("Foo__Bar-.baz", "foo-bar-baz")],
)
def test_normalize_distribution_name(raw: str, expected: str) -> None:
    assert normalize_distribution_name(raw) == expected
