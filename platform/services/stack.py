"""`ganforge services up|status|down`: a local S3 endpoint plus an MLflow server that uses it.

The S3 endpoint keeps its objects on disk under `<GANFORGE_HOME>/services/s3/` (see
object_store.py for the server and why), and the registry lives in SQLite beside it, so
`down` then `up` (or a crash then `up`) finds every model version with its files. `--s3 memory`
starts a throwaway in-memory endpoint instead. Any other S3 (MinIO, AWS) is used with
`--s3-endpoint` and the usual AWS_* credentials. The MLflow server proxies artifacts
(`--serve-artifacts`), so clients talk HTTP to it only and need no S3 credentials.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from ganforge.platform.home import ganforge_home
from ganforge.platform.services.object_store import S3Kind, s3_healthy, start_endpoint
from ganforge.platform.services.processes import (
    LOOPBACK,
    ServiceError,
    free_port,
    is_alive,
    port_in_use,
    spawn,
    stop,
    wait_until,
)
from ganforge.platform.storage import retry, s3_client, split_s3_uri

DEFAULT_ARTIFACTS = "s3://ganforge/mlflow"
# The local endpoints accept any key pair; these are used only when no AWS_* credentials are set.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ganforge-local", "AWS_SECRET_ACCESS_KEY": "ganforge-local-secret"}


@dataclass(frozen=True)
class ServicesOptions:
    s3_port: int | None = None
    mlflow_port: int | None = None
    backend_store_uri: str | None = None
    """Any SQLAlchemy URI; default SQLite under <GANFORGE_HOME>/services."""
    artifacts_destination: str = DEFAULT_ARTIFACTS
    s3_endpoint: str | None = None
    """Use this S3 endpoint instead of starting the local one."""
    s3: S3Kind = "disk"
    """The local endpoint: `disk` keeps objects under the services folder, `memory` until it stops."""


@dataclass(frozen=True)
class ServicesState:
    tracking_uri: str
    mlflow_pid: int
    s3_endpoint: str
    s3_pid: int | None
    """None when the S3 endpoint is external (not ours to stop)."""
    artifacts_destination: str
    backend_store_uri: str
    s3_kind: str = "memory"
    """disk | memory | external (a state file from before the disk endpoint means memory)."""
    s3_data: str | None = None
    """The folder holding the objects when s3_kind is disk."""


def services_dir() -> Path:
    return ganforge_home() / "services"


def s3_data_dir() -> Path:
    """Where the disk endpoint keeps its objects: one folder per bucket, one file per object."""
    return services_dir() / "s3"


def _state_file() -> Path:
    return services_dir() / "state.json"


def _ports_file() -> Path:
    return services_dir() / "ports.json"


def read_state() -> ServicesState | None:
    try:
        return ServicesState(**json.loads(_state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _remembered_ports() -> dict[str, int]:
    try:
        ports = json.loads(_ports_file().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in ports.items() if isinstance(v, int)} if isinstance(ports, dict) else {}


def _service_env(s3_endpoint: str) -> dict[str, str]:
    env = {**os.environ, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint, "AWS_RETRY_MODE": "standard"}
    env.setdefault("AWS_MAX_ATTEMPTS", "8")
    if "AWS_ACCESS_KEY_ID" not in os.environ:
        env.update(LOCAL_CREDENTIALS)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # MLflow's job runner (GenAI evaluation jobs) starts seven huey worker processes; ganforge
    # does not use it, and on a small machine they cost memory and CPU.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    return env


def _port(requested: int | None, remembered: int | None = None) -> int:
    """The requested port, else the one used last time (an exported MLFLOW_TRACKING_URI stays
    right across `down`/`up`) if it is still free, else any free one."""
    if requested is None:
        return remembered if remembered and not port_in_use(remembered) else free_port()
    if port_in_use(requested):
        raise ServiceError(f"port {requested} on {LOOPBACK} is already in use")
    return requested


def mlflow_healthy(uri: str) -> bool:
    try:
        return requests.get(f"{uri}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _start_s3(options: ServicesOptions, logs: Path) -> tuple[str, int | None, str | None]:
    """(endpoint, pid or None when external, data folder or None when not on disk)."""
    if options.s3_endpoint:
        return options.s3_endpoint.rstrip("/"), None, None
    port = _port(options.s3_port, _remembered_ports().get("s3_port"))
    endpoint = f"http://{LOOPBACK}:{port}"
    started = start_endpoint(options.s3, port, s3_data_dir(), _service_env(endpoint), logs / "s3.log")
    return started.url, started.pid, started.data


def _ensure_bucket(endpoint: str, destination: str) -> None:
    bucket, _ = split_s3_uri(destination)
    # With no AWS_* credentials set, the services' fallback pair, for this client alone (this
    # process's environment is not ours to change); set ones are boto3's to read, session token too.
    fallback = "AWS_ACCESS_KEY_ID" not in os.environ
    pair = (LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    client = s3_client(endpoint, pair if fallback else None)
    existing = {b["Name"] for b in retry(client.list_buckets, "list buckets")["Buckets"]}
    if bucket not in existing:
        retry(lambda: client.create_bucket(Bucket=bucket), f"create bucket {bucket}")


def _start_mlflow(options: ServicesOptions, endpoint: str, logs: Path) -> tuple[str, int, str]:
    port = _port(options.mlflow_port, _remembered_ports().get("mlflow_port"))
    uri = f"http://{LOOPBACK}:{port}"
    backend = options.backend_store_uri or f"sqlite:///{services_dir() / 'mlflow.db'}"
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", LOOPBACK, "--port", str(port), "--workers", "1",
        "--backend-store-uri", backend,
        "--artifacts-destination", options.artifacts_destination,
        "--serve-artifacts",
    ]  # fmt: skip
    pid = spawn(command, logs / "mlflow.log", _service_env(endpoint))
    wait_until(lambda: mlflow_healthy(uri), 120, f"MLflow server {uri}", pid, logs / "mlflow.log")
    return uri, pid, backend


def up(options: ServicesOptions) -> tuple[ServicesState, bool]:
    """Starts the services unless they already run healthy; returns (state, started)."""
    current = read_state()
    if current is not None and all(row.healthy for row in status_rows(current)):
        return current, False
    if current is not None:
        down(current)
    if not options.artifacts_destination.startswith("s3://"):
        raise ServiceError(
            f"--artifacts-destination must be s3://BUCKET/PREFIX, got {options.artifacts_destination}"
        )
    logs = services_dir()
    logs.mkdir(parents=True, exist_ok=True)
    endpoint, s3_pid, s3_data = _start_s3(options, logs)
    try:
        _ensure_bucket(endpoint, options.artifacts_destination)
        uri, mlflow_pid, backend = _start_mlflow(options, endpoint, logs)
    except BaseException:
        if s3_pid is not None:
            stop(s3_pid)
        raise
    kind = "external" if s3_pid is None else options.s3
    state = ServicesState(
        uri, mlflow_pid, endpoint, s3_pid, options.artifacts_destination, backend, kind, s3_data
    )
    _state_file().write_text(json.dumps(asdict(state), indent=2))
    ports = {"mlflow_port": urlsplit(uri).port, "s3_port": urlsplit(endpoint).port if s3_pid else None}
    _ports_file().write_text(json.dumps(ports))
    return state, True


@dataclass(frozen=True)
class ServiceRow:
    """One service as `services status` shows it."""

    name: str
    pid: str
    address: str
    condition: str
    """`healthy`; `restarted` (the process `up` started is gone, another answers at the address:
    it works, but `down` cannot stop it); `dead` (gone, nothing answers); `not responding`."""

    @property
    def healthy(self) -> bool:
        return self.condition == "healthy"


def _condition(pid: int | None, answers: bool) -> str:
    alive = pid is None or is_alive(pid)  # no pid: an external endpoint, not ours to watch
    if alive:
        return "healthy" if answers else "not responding"
    return "restarted" if answers else "dead"


def status_rows(state: ServicesState) -> list[ServiceRow]:
    """Each service: whether the process `up` started still runs and whether its address answers."""
    s3 = _condition(state.s3_pid, s3_healthy(state.s3_endpoint))
    mlflow = _condition(state.mlflow_pid, mlflow_healthy(state.tracking_uri))
    s3_pid = str(state.s3_pid) if state.s3_pid else "external"
    return [
        ServiceRow("s3", s3_pid, state.s3_endpoint, s3),
        ServiceRow("mlflow", str(state.mlflow_pid), state.tracking_uri, mlflow),
    ]


def data_rows(state: ServicesState) -> list[tuple[str, str]]:
    """(service, where its data lives) for each service."""
    if state.s3_pid is None:
        objects = f"{state.s3_endpoint}  (external, not managed here)"
    elif state.s3_kind == "disk":
        objects = f"{state.s3_data}  (on disk, kept across down/up)"
    else:
        objects = "in memory, lost when the endpoint stops (--s3 memory)"
    return [("s3", objects), ("mlflow", state.backend_store_uri)]


def down(state: ServicesState | None = None) -> bool:
    """Stops the services this machine started; returns False when none were recorded."""
    state = state or read_state()
    if state is None:
        return False
    stop(state.mlflow_pid)
    if state.s3_pid is not None:
        stop(state.s3_pid)
    _state_file().unlink(missing_ok=True)
    return True
