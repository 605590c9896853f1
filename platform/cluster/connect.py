"""Starts or joins Ray with its own log noise kept out of the user's terminal."""

from __future__ import annotations

import json
import logging
import os

import ray

from ganforge.platform.settings import JobSettings


def _set_by_submitted_job() -> set[str]:
    """The variables a submitted job's own runtime_env sets (`ganforge submit` forwards some).

    Ray refuses a ray.init in the job's driver that sets any of them again, and the job's
    workers have them already. Ray's job manager hands the driver its job config in this variable.
    """
    raw = os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR")
    if not raw:
        return set()
    try:
        return set((json.loads(raw).get("runtime_env") or {}).get("env_vars") or {})
    except (ValueError, AttributeError):
        return set()


def connect(
    address: str | None = None, num_cpus: int | None = None, settings: JobSettings | None = None
) -> None:
    """Joins the cluster at `address`, or starts a local Ray in this process when None.

    Args:
        address: a Ray address (HOST:6379, ray://HOST:10001, auto); None: RAY_ADDRESS inside a Ray
            job, else a fresh local Ray.
        num_cpus: CPUs of a local Ray (ignored when joining a cluster).
        settings: what every worker must see (home folder, tracking, S3), handed to Ray through
            runtime_env; default: resolved from this process's environment. A Ray already started
            keeps the settings it started with: Ray Train workers get the job's own (see
            `run_ray_train`).
    """
    if ray.is_initialized():
        return
    settings = settings or JobSettings.resolve()
    taken = _set_by_submitted_job()
    env_vars = {k: v for k, v in settings.env_vars(address).items() if k not in taken}
    ray.init(
        # RAY_ADDRESS is set inside a Ray job (`ganforge submit`). Otherwise "local" starts a
        # fresh Ray here: None would silently join any cluster `ray start` left on this machine.
        address=address or os.environ.get("RAY_ADDRESS") or "local",
        num_cpus=None if (address or os.environ.get("RAY_ADDRESS")) else num_cpus,
        runtime_env={"env_vars": env_vars},
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        configure_logging=True,
    )
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.train").setLevel(logging.ERROR)
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
