"""A wheel of this checkout for a cluster: ganforge's own code, its dependencies left to the image.

Ray's runtime_env `py_modules` installs a .whl with `pip install --target`, which would also
install every dependency (torch included) into the job's folder. The cluster image already has
them (infra/docker), so the wheel is built without its `Requires-Dist` lines. It gains a
build-info file naming the commit it was built from: the cluster has no checkout to ask.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from ganforge.platform.errors import GanforgeError


class SubmitError(GanforgeError):
    """A job could not be submitted or followed."""


def checkout_root() -> Path:
    """The source checkout this ganforge runs from (an editable install)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").exists():
        raise SubmitError("submitting needs a ganforge source checkout (pip install -e .); none found")
    return root


def build_wheel(out_dir: Path) -> Path:
    """Builds the checkout's wheel into `out_dir` (no build isolation: offline) without requirements."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(out_dir),
    ]
    done = subprocess.run([*command, str(checkout_root())], capture_output=True, text=True)
    wheels = sorted(out_dir.glob("ganforge-*.whl"))
    if done.returncode != 0 or not wheels:
        reason = (done.stderr.strip().splitlines() or ["no wheel produced"])[-1]
        raise SubmitError(f"building the ganforge wheel failed: {reason}")
    from ganforge.platform.tracking.run import BUILD_INFO_NAME, build_info  # MLflow only when building

    return strip_requirements(wheels[-1], {BUILD_INFO_NAME: json.dumps(build_info()).encode()})


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def strip_requirements(wheel: Path, extra: dict[str, bytes] | None = None) -> Path:
    """Rewrites the wheel without `Requires-Dist` metadata, plus the `extra` files (path -> bytes),
    with RECORD updated to match."""
    with zipfile.ZipFile(wheel) as source:
        items = {info.filename: source.read(info) for info in source.infolist()}
    extra = extra or {}
    added = [name for name in extra if name not in items]
    items.update(extra)
    metadata_name = next(name for name in items if name.endswith(".dist-info/METADATA"))
    record_name = next(name for name in items if name.endswith(".dist-info/RECORD"))
    lines = items[metadata_name].decode().splitlines(keepends=True)
    items[metadata_name] = "".join(line for line in lines if not line.startswith("Requires-Dist:")).encode()
    record = [
        _record_line(name, data) if name == metadata_name or name in extra else line
        for line in items[record_name].decode().splitlines()
        for name, data in [(line.split(",")[0], items.get(line.split(",")[0], b""))]
    ]
    record += [_record_line(name, extra[name]) for name in added]
    items[record_name] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in items.items():
            target.writestr(name, data)
    return wheel
