"""Retrying transient storage and tracking errors with exponential backoff."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("ganforge.storage")

# What counts as transient: connection trouble and 5xx/throttling, which boto3, requests and
# MLflow raise under these types. Client mistakes (403, missing bucket) are not retried.
TRANSIENT_NAMES = frozenset(
    {
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "Timeout",
        "MaxRetryError",
    }
)


def is_transient(error: BaseException) -> bool:
    """True for errors worth another try: network failures, HTTP 5xx, throttling."""
    if type(error).__name__ in TRANSIENT_NAMES or isinstance(error, ConnectionError | TimeoutError):
        return True
    response = getattr(error, "response", None)
    status = None
    if isinstance(response, dict):  # botocore ClientError
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    elif response is not None:  # requests
        status = getattr(response, "status_code", None)
    code = getattr(error, "error_code", "")  # MlflowException
    return (status is not None and (status >= 500 or status == 429)) or code in {
        "TEMPORARILY_UNAVAILABLE",
        "INTERNAL_ERROR",
    }


def retry(
    fn: Callable[[], T],
    what: str,
    attempts: int = 5,
    base_delay_s: float = 0.5,
    max_delay_s: float = 8.0,
) -> T:
    """Calls `fn`, retrying transient errors with jittered exponential backoff.

    Libraries retry too (botocore in `standard` mode, MLflow's HTTP client); this outer
    layer covers an endpoint that is restarting for longer than their budgets.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as error:
            if attempt == attempts or not is_transient(error):
                raise
            delay = min(max_delay_s, base_delay_s * 2 ** (attempt - 1)) * (0.5 + random.random())
            log.warning(
                "%s failed (%s), retry %d/%d in %.1fs",
                what,
                type(error).__name__,
                attempt,
                attempts - 1,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")
