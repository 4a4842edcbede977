"""Fixtures for model package tests: a tiny table, a tiny estimator and isolated imports of user code."""

from __future__ import annotations

import importlib
import itertools
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

_module_numbers = itertools.count()


@pytest.fixture
def frame() -> pd.DataFrame:
    """Eight rows: a float feature and an int feature."""
    return pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], "b": [1, 0, 1, 0, 1, 0, 1, 0]})


@pytest.fixture
def labels() -> list[int]:
    return [0, 0, 0, 0, 1, 1, 1, 1]


@pytest.fixture
def tree(frame: pd.DataFrame, labels: list[int]) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=0).fit(frame, labels)


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    """Restore sys.path and forget modules imported during the test (package code lands on sys.path)."""
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    yield
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]


@pytest.fixture
def user_module(tmp_path: Path, isolated_imports: None) -> Callable[[str], tuple[Path, ModuleType]]:
    """Write a module with a unique name under tmp_path/src and import it; returns (file, module)."""
    src = tmp_path / "src"
    src.mkdir()
    sys.path.insert(0, str(src))

    def make(source: str) -> tuple[Path, ModuleType]:
        suffix = re.sub(r"\W", "_", tmp_path.name)
        name = f"cairn_user_code_{next(_module_numbers)}_{suffix}"
        path = src / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        return path, importlib.import_module(name)

    return make
