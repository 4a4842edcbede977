"""Routes of the mlflow API."""
