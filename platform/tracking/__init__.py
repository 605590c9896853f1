"""MLflow tracking: run lifecycle on the driver, metric stream on rank 0, model registry."""
