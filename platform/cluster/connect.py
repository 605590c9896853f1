"""Starts or joins Ray with its own log noise kept out of the user's terminal."""

from __future__ import annotations

import logging
import os

import ray

from ganforge.platform.home import ganforge_home


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Joins the cluster at `address`, or starts a local Ray in this process when None."""
    if ray.is_initialized():
        return
    # Ray Train V2 and Tune print their own status tables; ganforge shows its own progress bar.
    os.environ.setdefault("RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # Workers inherit it: an absolute home, so caches and checkpoints do not follow their cwd.
    os.environ["GANFORGE_HOME"] = str(ganforge_home())
    ray.init(
        # RAY_ADDRESS is set inside a Ray job (`ganforge submit`). Otherwise "local" starts a
        # fresh Ray here: None would silently join any cluster `ray start` left on this machine.
        address=address or os.environ.get("RAY_ADDRESS") or "local",
        num_cpus=None if (address or os.environ.get("RAY_ADDRESS")) else num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        configure_logging=True,
    )
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.train").setLevel(logging.ERROR)
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
