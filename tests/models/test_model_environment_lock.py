from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from cairn.errors import InvalidArgument
from cairn.models.environment import capture_requirements, environment_differences, imported_modules


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_flavor_packages_are_pinned_with_installed_versions() -> None:
    lock = capture_requirements(["scikit-learn", "skops"])
    assert lock == [
        f"scikit-learn=={metadata.version('scikit-learn')}",
        f"skops=={metadata.version('skops')}",
    ]


def test_a_flavor_package_that_is_not_installed_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="'no-such-dist-for-cairn' is needed by the flavor"):
        capture_requirements(["no-such-dist-for-cairn"])


def test_imports_of_user_code_pin_their_distributions(tmp_path: Path) -> None:
    module = _write(
        tmp_path / "features.py",
        "import json\nimport os.path\nimport yaml\nfrom cairn.models import PythonModel\n"
        "from helpers import thing\nfrom . import sibling\ntry:\n    import not_installed_anywhere\n"
        "except ImportError:\n    pass\n",
    )
    package = tmp_path / "helpers"
    _write(package / "__init__.py", "from numpy import array\nthing = 1\n")
    assert imported_modules([module, package]) >= {"yaml", "numpy", "helpers", "cairn"}
    lock = capture_requirements([], code_paths=[module, package])
    assert lock == [f"numpy=={metadata.version('numpy')}", f"PyYAML=={metadata.version('PyYAML')}"]


def test_extra_lines_are_kept_and_replace_a_pin_of_the_same_distribution() -> None:
    lock = capture_requirements(
        ["scikit-learn"], extra=["Scikit_Learn>=1.0", "requests==2.0", "requests==2.0"], modules=["yaml"]
    )
    assert lock == ["PyYAML==" + metadata.version("PyYAML"), "requests==2.0", "Scikit_Learn>=1.0"]
    with pytest.raises(InvalidArgument, match="extra requirement '==1' does not start"):
        capture_requirements([], extra=["==1"])


def test_unparsable_code_is_refused_naming_the_file(tmp_path: Path) -> None:
    broken = _write(tmp_path / "broken.py", "def (:\n")
    with pytest.raises(InvalidArgument, match="broken.py cannot be parsed"):
        capture_requirements([], code_paths=[broken])


def test_environment_differences() -> None:
    installed = metadata.version("scikit-learn")
    differences = environment_differences(
        [
            f"scikit-learn=={installed}",
            "numpy==0.0.1",
            "no-such-dist-for-cairn==3.2.0",
            "pandas>=1",
            "",
        ]
    )
    assert differences == [
        f"numpy: lock 0.0.1, installed {metadata.version('numpy')}",
        "no-such-dist-for-cairn: lock 3.2.0, not installed",
    ]
