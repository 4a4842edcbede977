"""The model registry: registered models, versions, aliases, model URIs and lineage."""
