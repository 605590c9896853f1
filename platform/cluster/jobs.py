"""Jobs on a Ray cluster through the Ray Jobs API: submit, list, status, logs, stop.

Works with clusters that have token authentication on (RAY_AUTH_MODE=token): Ray's job client
adds the token from RAY_AUTH_TOKEN (or the token file) to every request.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from ganforge.platform.cluster.wheel import SubmitError

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def cluster_address(address: str | None) -> str:
    """The job server address: the option, else RAY_API_SERVER_ADDRESS / RAY_ADDRESS."""
    found = address or os.environ.get("RAY_API_SERVER_ADDRESS") or os.environ.get("RAY_ADDRESS")
    if not found:
        raise SubmitError("no cluster address: pass --address http://HEAD:8265 or set RAY_ADDRESS")
    return found


def job_client(address: str | None) -> Any:
    """A connected JobSubmissionClient; an unreachable or refusing cluster is one clear error.

    A cluster with token authentication needs RAY_AUTH_MODE=token set before Ray is imported:
    the CLI's entry point sets it when a token exists (pipelines/cli/auth.py).
    """
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobSubmissionClient

    where = cluster_address(address)
    try:
        return JobSubmissionClient(where)
    except AuthenticationError:
        raise SubmitError(
            f"Ray cluster at {where} refused the request: token authentication is on and no valid "
            "token was found (set RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH)"
        ) from None
    except (ConnectionError, RuntimeError, ValueError) as error:
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise SubmitError(f"Ray cluster at {where} is unreachable ({reason})") from None


def _known(client: Any, job_id: str) -> None:
    try:
        client.get_job_info(job_id)
    except RuntimeError as error:
        if "404" in str(error) or "does not exist" in str(error):
            raise SubmitError(f"no job '{job_id}' on this cluster") from None
        raise SubmitError(f"job '{job_id}': {str(error).splitlines()[0][:200]}") from None


def job_status(client: Any, job_id: str) -> str:
    _known(client, job_id)
    return str(client.get_job_status(job_id).value)


def stop_job(client: Any, job_id: str) -> bool:
    _known(client, job_id)
    return bool(client.stop_job(job_id))


def job_logs(client: Any, job_id: str) -> str:
    _known(client, job_id)
    return str(client.get_job_logs(job_id))


def follow_logs(client: Any, job_id: str, write: Callable[[str], None]) -> None:
    """Streams the job's logs until it ends."""
    _known(client, job_id)

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    asyncio.run(tail())


def wait_for(client: Any, job_id: str, poll_s: float = 2.0) -> str:
    """Polls until the job reaches a terminal state; returns it."""
    while True:
        status = job_status(client, job_id)
        if status in TERMINAL:
            return status
        time.sleep(poll_s)


def list_jobs(client: Any) -> list[dict[str, Any]]:
    rows = []
    for info in client.list_jobs():
        rows.append(
            {
                "job_id": info.submission_id or info.job_id,
                "status": str(info.status.value),
                "entrypoint": info.entrypoint,
                "start_time": info.start_time,
            }
        )
    return sorted(rows, key=lambda row: row["start_time"] or 0)
