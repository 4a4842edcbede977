"""Importing skops without the PyTorch import that scikit-learn's module scan would cause.

When `skops.io` is imported it lists scikit-learn's estimators with `sklearn.utils.all_estimators`,
which walks every scikit-learn package, including the array-API shim
`sklearn.externals.array_api_compat.torch`. That shim imports PyTorch when it is installed: about
1.3 s on a small machine, in every process that loads a scikit-learn model, although no estimator
lives there (`all_estimators` skips `externals`). While skops is imported, that one shim is refused;
the package walk skips packages that fail to import, so the estimator list is unchanged, and the shim
imports normally afterwards.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

from cairn.errors import MissingExtra

TORCH_SHIM = "sklearn.externals.array_api_compat.torch"
_lock = threading.Lock()


class _RefuseTorchShim(importlib.abc.MetaPathFinder):
    """A finder that refuses the scikit-learn PyTorch shim and leaves every other import alone."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == TORCH_SHIM:
            raise ImportError(f"{TORCH_SHIM} is not imported while skops lists scikit-learn's estimators")
        return None


def import_skops() -> tuple[ModuleType, ModuleType]:
    """Import `skops` and `skops.io`, keeping PyTorch out of the process when it is not there already.

    Raises:
        MissingExtra: skops is not installed.
    """
    with _lock:
        if "skops.io" in sys.modules or "torch" in sys.modules:
            return _import_both()
        finder = _RefuseTorchShim()
        sys.meta_path.insert(0, finder)
        try:
            return _import_both()
        finally:
            sys.meta_path.remove(finder)


def _import_both() -> tuple[ModuleType, ModuleType]:
    try:
        return importlib.import_module("skops"), importlib.import_module("skops.io")
    except ImportError:
        raise MissingExtra("skops", "sklearn") from None
