"""Automatic logging: `cairn.autolog()` records params, metrics and models of library training calls."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

from cairn.errors import InvalidArgument

__all__ = ["AutologConfig", "autolog"]

LOGGER = logging.getLogger("cairn.autolog")


@dataclass(frozen=True)
class AutologConfig:
    """The options `autolog` was last enabled with.

    Attributes:
        log_models: Store the fitted model under the run's `model/` artifacts.
        log_input_examples: Store the first rows of the training input beside the model.
        silent: Suppress the warnings autologging emits when it cannot record something.
        max_tuning_runs: How many of the best hyperparameter-search candidates get a child run.
    """

    log_models: bool = True
    log_input_examples: bool = False
    silent: bool = False
    max_tuning_runs: int = 5


def autolog(
    disable: bool = False,
    log_models: bool = True,
    log_input_examples: bool = False,
    silent: bool = False,
    max_tuning_runs: int = 5,
) -> None:
    """Record every scikit-learn training call without changing the training code.

    Each top-level `fit` (and `fit_transform`/`fit_predict`) logs the estimator's params, its training
    metrics and the fitted model into the active run, or into a new run that ends with the call.
    Hyperparameter searches also log the best params, the CV results table and child runs for the
    best candidates. Calling it again changes the options; `disable=True` restores the original methods.

    Args:
        disable: Undo the patching and stop autologging.
        log_models: Store the fitted model (skops format) as artifacts under `model/`.
        log_input_examples: Store the first five training rows as `model/input_example.json`.
        silent: Do not emit warnings when something cannot be logged.
        max_tuning_runs: Child runs to create for the top-ranked search candidates (0 for none).

    Raises:
        InvalidArgument: when `max_tuning_runs` is not a non-negative integer.
    """
    if isinstance(max_tuning_runs, bool) or not isinstance(max_tuning_runs, int) or max_tuning_runs < 0:
        raise InvalidArgument(f"max_tuning_runs must be a non-negative integer, got {max_tuning_runs!r}")
    from cairn.tracking.autolog import sklearn as sklearn_autolog

    if disable:
        sklearn_autolog.disable()
        return
    if importlib.util.find_spec("sklearn") is None:
        if not silent:
            LOGGER.warning("cairn autolog: scikit-learn is not installed; run: pip install 'cairn[sklearn]'")
        return
    sklearn_autolog.enable(AutologConfig(log_models, log_input_examples, silent, max_tuning_runs))
