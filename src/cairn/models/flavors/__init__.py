"""One module per ML library that can save and load models (each defines FLAVOR)."""
