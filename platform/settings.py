"""The settings one job's processes must agree on, resolved once and handed to Ray workers.

The entry point (or the pipeline function, for a library caller) resolves a `JobSettings`; Ray
gets its `env_vars` through `runtime_env`, so every worker sees the same home folder, tracking
URI and S3 endpoint. Library code does not write the calling process's `os.environ`: the one
exception is `JobSettings.applied`, scoped to the job, for what third-party libraries read only
from this process's environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ganforge.platform.config.schema import TrackingConfig
from ganforge.platform.home import ganforge_home

HOME_VAR = "GANFORGE_HOME"
TRACKING_URI_VAR = "MLFLOW_TRACKING_URI"
S3_ENDPOINT_VAR = "MLFLOW_S3_ENDPOINT_URL"
# Variables whose value names a place: a cluster elsewhere cannot use one that is local to here.
_PLACES = (HOME_VAR, TRACKING_URI_VAR, S3_ENDPOINT_VAR)


def is_local_address(url: str) -> bool:
    """True for an address only this machine can use: loopback hosts, local files and SQLite."""
    parsed = urlparse(url if "://" in url else f"//{url}")
    if parsed.scheme in ("sqlite", "file"):
        return True
    host = parsed.hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def is_local_ray(address: str | None) -> bool:
    """True when the Ray that `connect(address)` reaches runs on this machine (started here,
    `auto`, or a loopback address), so its workers share this machine's folders."""
    where = address or os.environ.get("RAY_ADDRESS")
    return not where or where in ("local", "auto") or is_local_address(where)


@dataclass(frozen=True)
class JobSettings:
    """Where a job keeps its files and tracks its runs, for the driver and every worker."""

    home: Path
    """GANFORGE_HOME, absolute: the embedded MLflow store, checkpoints and caches."""
    tracking_uri: str | None = None
    """The job's tracking URI (its config, else MLFLOW_TRACKING_URI); None: the embedded store."""
    s3_endpoint_url: str | None = None
    """S3 endpoint of MLflow's artifact client (its config, else MLFLOW_S3_ENDPOINT_URL); None: AWS."""
    aws_retry_mode: str = "standard"
    """botocore's retry mode: `standard` backs off on throttling, 5xx and dropped connections."""
    aws_max_attempts: int = 8

    @classmethod
    def resolve(
        cls, tracking: TrackingConfig | None = None, environ: Mapping[str, str] | None = None
    ) -> JobSettings:
        """The job's settings: its tracking section first, then the environment, then defaults.

        Args:
            tracking: the job's or sweep's tracking section (None: the environment alone).
            environ: where to read the fallbacks (default: this process's environment).
        """
        env = os.environ if environ is None else environ
        tracking = tracking or TrackingConfig()
        return cls(
            home=ganforge_home(env),
            tracking_uri=tracking.uri or env.get(TRACKING_URI_VAR) or None,
            s3_endpoint_url=tracking.s3_endpoint_url or env.get(S3_ENDPOINT_VAR) or None,
            aws_retry_mode=env.get("AWS_RETRY_MODE", "standard"),
            aws_max_attempts=int(env.get("AWS_MAX_ATTEMPTS", "8")),
        )

    def library_env(self) -> dict[str, str]:
        """What third-party libraries read from the process environment only: MLflow's S3
        artifact client its endpoint, botocore its retry settings."""
        env = {"AWS_RETRY_MODE": self.aws_retry_mode, "AWS_MAX_ATTEMPTS": str(self.aws_max_attempts)}
        if self.s3_endpoint_url:
            env[S3_ENDPOINT_VAR] = self.s3_endpoint_url
        return env

    def env_vars(self, ray_address: str | None = None) -> dict[str, str]:
        """The variables for Ray's `runtime_env`, so that every worker sees these settings.

        Args:
            ray_address: the Ray that runs the workers (as given to `connect`). On a cluster
                elsewhere, the home folder and addresses only this machine can use are left out:
                its nodes keep their own.
        """
        env = {HOME_VAR: str(self.home), **self.library_env()}
        if self.tracking_uri:
            env[TRACKING_URI_VAR] = self.tracking_uri
        if is_local_ray(ray_address):
            return env
        return {
            key: value
            for key, value in env.items()
            if key not in _PLACES or (key != HOME_VAR and not is_local_address(value))
        }

    @contextmanager
    def applied(self) -> Iterator[JobSettings]:
        """Sets `library_env` in this process for the job, then restores what was there.

        Why the environment at all: MLflow's S3 artifact repository takes its endpoint only from
        MLFLOW_S3_ENDPOINT_URL, and botocore its retry mode only from AWS_* variables or a
        config file; the driver uploads artifacts through them. Scoped, so that nothing of this
        job is left for the next job in the same process. MLFLOW_TRACKING_URI is restored too:
        `mlflow.set_tracking_uri` writes it (for MLflow's subprocesses), and left behind it would
        become the next job's default store. Not thread-safe: the environment is the process's,
        so two jobs in threads of one process would see each other's values.
        """
        with scoped_environ(self.library_env(), restore=(TRACKING_URI_VAR,)):
            yield self


@contextmanager
def scoped_environ(values: Mapping[str, str], restore: tuple[str, ...] = ()) -> Iterator[None]:
    """Sets `values` in os.environ for the duration of the block, then restores each key's
    previous value (or its absence), and that of each key in `restore`, which the block may set."""
    saved = {key: os.environ.get(key) for key in (*values, *restore)}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, previous in saved.items():
            if previous is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = previous
