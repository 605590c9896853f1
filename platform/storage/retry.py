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
    deadline_s: float | None = None,
    worth_retrying: Callable[[BaseException], bool] = is_transient,
) -> T:
    """Calls `fn`, retrying transient errors with jittered exponential backoff.

    Libraries retry too (botocore in `standard` mode, MLflow's HTTP client); this outer
    layer covers an endpoint that is restarting for longer than their budgets.

    Args:
        fn: the call to make.
        what: what the call does, for the log line.
        attempts: the most calls made.
        base_delay_s: the first backoff; it doubles on each retry, up to `max_delay_s`.
        max_delay_s: the longest backoff (before jitter).
        deadline_s: a total budget in seconds across all attempts and backoffs, counted from
            this call; no retry starts once waiting for it would pass the budget, and the last
            error is raised instead. The first attempt is always made, and an attempt already
            under way is not cut short (the library's own retries inside it run to their end).
        worth_retrying: which errors get another try (default: the transient ones).

    Returns:
        What `fn` returned.
    """
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as error:
            if attempt == attempts or not worth_retrying(error):
                raise
            delay = min(max_delay_s, base_delay_s * 2 ** (attempt - 1)) * (0.5 + random.random())
            elapsed = time.monotonic() - started
            if deadline_s is not None and elapsed + delay >= deadline_s:
                raise  # the caller reports it: waiting longer would pass the total budget
            left = "" if deadline_s is None else f" ({deadline_s - elapsed:.0f}s left of {deadline_s:g}s)"
            log.warning(
                "%s failed (%s), retry %d/%d in %.1fs%s",
                what,
                type(error).__name__,
                attempt,
                attempts - 1,
                delay,
                left,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")
