"""Local services for the full setup: an S3-compatible endpoint and an MLflow tracking server."""
