"""boto3 clients for any S3-compatible store, addressed by endpoint URL.

Credentials come from the usual AWS_* environment variables (or boto3's other sources); they
are never part of a config, so they never reach params, tags or artifacts.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

# botocore's `standard` retry mode: exponential backoff on throttling, 5xx and connection errors.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=60)


def s3_client(endpoint_url: str | None = None, credentials: tuple[str, str] | None = None) -> Any:
    """An S3 client for `endpoint_url`, else MLFLOW_S3_ENDPOINT_URL / AWS_ENDPOINT_URL_S3, else AWS.

    Args:
        endpoint_url: the S3 endpoint (MinIO, the local one); None: from the environment, else AWS.
        credentials: (access key id, secret key) for this client alone; None: boto3's usual
            sources (AWS_* variables, credential files).
    """
    endpoint = (
        endpoint_url or os.environ.get("MLFLOW_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
    )
    keys = {}
    if credentials is not None:
        keys = {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]}
    return boto3.client("s3", endpoint_url=endpoint, config=RETRY_CONFIG, **keys)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b' -> ('bucket', 'a/b')."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def list_objects(client: Any, bucket: str, prefix: str = "") -> list[str]:
    """Every key under `prefix` in `bucket` (all pages)."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def arrow_storage(storage_path: str, endpoint_url: str | None = None) -> tuple[str, Any]:
    """(path, pyarrow filesystem or None) for Ray's `RunConfig(storage_path, storage_filesystem)`.

    s3:// paths get an S3 filesystem on `endpoint_url` (else MLFLOW_S3_ENDPOINT_URL /
    AWS_ENDPOINT_URL_S3), so MinIO and the local endpoint work like AWS; credentials come from
    the AWS_* variables. Other paths are passed through for Ray to resolve.
    """
    if not storage_path.startswith("s3://"):
        return storage_path, None
    from urllib.parse import urlparse

    import pyarrow.fs

    endpoint = (
        endpoint_url or os.environ.get("MLFLOW_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
    )
    options: dict[str, Any] = {"region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    if endpoint:
        parsed = urlparse(endpoint)
        options.update(endpoint_override=parsed.netloc or parsed.path, scheme=parsed.scheme or "https")
    bucket, prefix = split_s3_uri(storage_path)
    return f"{bucket}/{prefix}".rstrip("/"), pyarrow.fs.S3FileSystem(**options)
