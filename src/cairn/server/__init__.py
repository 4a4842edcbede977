"""The tracking server: a native API, an MLflow-compatible API and an artifact proxy over one store."""
