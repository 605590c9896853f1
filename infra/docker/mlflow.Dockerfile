# syntax=docker/dockerfile:1
# MLflow tracking server for infra/compose: the same MLflow version as pyproject.toml, plus
# psycopg2 (PostgreSQL backend store) and boto3 (the S3 artifact destination, proxied by the server).
#   docker build -f infra/docker/mlflow.Dockerfile -t ganforge-mlflow:3.17 infra/docker
FROM python:3.11-slim-bookworm
RUN pip install --no-cache-dir "mlflow==3.17.*" "psycopg2-binary>=2.9" "boto3>=1.34" \
 && useradd --create-home --uid 1000 mlflow
USER mlflow
ENV PYTHONUNBUFFERED=1
EXPOSE 5000
CMD ["mlflow", "server", "--help"]
