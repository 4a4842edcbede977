"""Experiment tracking: runs, metrics, params, artifacts and what each run records about itself."""
