"""Transient S3 errors are retried with backoff: a real endpoint that comes up late."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from ganforge.platform.services.processes import free_port
from ganforge.platform.storage import retry
from ganforge.platform.storage.retry import is_transient

pytestmark = pytest.mark.integration


def test_retry_outlasts_an_endpoint_that_starts_late(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # botocore's own retries off, so that only ganforge's retry layer is under test.
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"max_attempts": 1})
    )
    with pytest.raises(botocore.exceptions.EndpointConnectionError) as refused:
        client.list_buckets()
    assert is_transient(refused.value)

    servers: list[subprocess.Popen] = []

    def start_later() -> None:
        time.sleep(2.0)
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        servers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    threading.Thread(target=start_later, daemon=True).start()
    try:
        started = time.monotonic()
        result = retry(
            lambda: client.create_bucket(Bucket="late"), "create bucket", attempts=8, max_delay_s=4
        )
        assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert time.monotonic() - started >= 2.0
        with pytest.raises(botocore.exceptions.ClientError) as missing:  # a client error is not retried
            retry(lambda: client.head_bucket(Bucket="absent"), "head bucket", attempts=5)
        assert not is_transient(missing.value)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
