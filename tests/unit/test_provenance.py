"""Provenance: the commit of the code that ran (wherever the command runs), the user's own commit."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ganforge.platform.cluster.wheel import build_wheel, strip_requirements
from ganforge.platform.tracking import run
from tests.conftest import REPO, run_cli, toy_job_file


def _git(folder: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-C", str(folder), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def _ganforge_head() -> str:
    return _git(REPO, "rev-parse", "HEAD")


def _user_repo(folder: Path) -> str:
    """A fresh repository with one commit, the user's project; returns its HEAD."""
    folder.mkdir(parents=True)
    _git(folder, "init", "-q")
    (folder / "train.py").write_text("print('mine')\n")
    _git(folder, "add", "train.py")
    _git(folder, "commit", "-q", "-m", "first")
    return _git(folder, "rev-parse", "HEAD")


def test_code_commit_is_the_checkouts_outside_any_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    commit = run.code_commit()
    assert commit.removesuffix("-dirty") == _ganforge_head()
    assert run.git_commit() == commit  # the old name still answers the same
    assert run.user_commit() is None
    tags = run.provenance_tags()
    assert tags["ganforge.git_commit"] == commit
    assert tags["ganforge.version"] == run.ganforge_version() != run.UNKNOWN
    assert "ganforge.user_commit" not in tags


def test_users_repository_gets_its_own_tag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    head = _user_repo(project)
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    assert run.user_commit() == head
    assert run.code_commit().removesuffix("-dirty") == _ganforge_head() != head
    assert run.provenance_tags()["ganforge.user_commit"] == head

    (project / "train.py").write_text("print('changed')\n")
    assert run.user_commit() == f"{head}-dirty"
    (project / "notes.txt").write_text("untracked files do not make it dirty\n")
    (project / "train.py").write_text("print('mine')\n")
    assert run.user_commit() == head


def test_no_user_commit_in_ganforges_checkout_or_a_repository_without_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert run.user_commit() is None
    _git(tmp_path, "init", "-q")
    monkeypatch.chdir(tmp_path)
    assert run.user_commit() is None


def test_build_info_file_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "build_info.json"
    monkeypatch.setattr(run, "BUILD_INFO", info)
    info.write_text(json.dumps({"version": "0.1.0", "commit": "abc123", "dirty": True}))
    assert run.code_commit() == "abc123-dirty"
    info.write_text(json.dumps({"version": "0.1.0", "commit": "abc123", "dirty": False}))
    assert run.code_commit() == "abc123"
    info.write_text("{not json")  # a damaged file is ignored: git answers
    assert run.code_commit().removesuffix("-dirty") == _ganforge_head()


def test_an_installed_copy_inside_a_users_repository_is_not_mistaken_for_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    head = _user_repo(project)
    copy = project / ".venv" / "site-packages" / "ganforge" / "platform" / "tracking" / "run.py"
    copy.parent.mkdir(parents=True)
    copy.write_text("# an installed copy, not tracked by the project\n")
    monkeypatch.setattr(run, "__file__", str(copy))
    monkeypatch.setattr(run, "BUILD_INFO", copy.parents[1] / "build_info.json")
    monkeypatch.chdir(project)
    assert run.code_commit() == run.UNKNOWN
    assert run.user_commit() == head


def _wheel(path: Path, files: dict[str, bytes]) -> Path:
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
        f"{len(data)}\n"
        for name, data in files.items()
    )
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("demo-0.1.dist-info/RECORD", record + "demo-0.1.dist-info/RECORD,,\n")
    return path


def _recorded(wheel: zipfile.ZipFile) -> dict[str, str]:
    text = wheel.read("demo-0.1.dist-info/RECORD").decode()
    return {line.split(",")[0]: line.split(",")[1] for line in text.splitlines() if line}


def test_wheel_rewrite_adds_files_with_matching_record(tmp_path: Path) -> None:
    metadata = b"Name: demo\nVersion: 0.1\nRequires-Dist: torch\n"
    path = _wheel(
        tmp_path / "demo-0.1-py3-none-any.whl",
        {"demo/a.py": b"x = 1\n", "demo-0.1.dist-info/METADATA": metadata},
    )
    info = b'{"commit": "abc"}'
    strip_requirements(path, {run.BUILD_INFO_NAME: info})
    with zipfile.ZipFile(path) as wheel:
        assert wheel.read(run.BUILD_INFO_NAME) == info
        assert b"Requires-Dist" not in wheel.read("demo-0.1.dist-info/METADATA")
        recorded = _recorded(wheel)
        for name in (run.BUILD_INFO_NAME, "demo/a.py", "demo-0.1.dist-info/METADATA"):
            digest = base64.urlsafe_b64encode(hashlib.sha256(wheel.read(name)).digest()).rstrip(b"=")
            assert recorded[name] == f"sha256={digest.decode()}", name
        assert recorded["demo-0.1.dist-info/RECORD"] == ""


def test_submitted_wheel_names_the_commit_it_was_built_from(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "wheel")
    with zipfile.ZipFile(wheel) as archive:
        info = json.loads(archive.read(run.BUILD_INFO_NAME))
    assert info["commit"] == _ganforge_head()
    assert isinstance(info["dirty"], bool)
    assert info["version"] == run.ganforge_version()

    # Installed as Ray's py_modules installs it, outside any checkout, it reports that commit.
    target = tmp_path / "installed"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(pip, check=True, capture_output=True)
    probe = "from ganforge.platform.tracking import run; print(run.__file__); print(run.code_commit())"
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    module, commit = done.stdout.split()
    assert Path(module).is_relative_to(target)
    assert commit == info["commit"] + ("-dirty" if info["dirty"] else "")


def test_tracked_run_is_tagged_with_version_and_code_commit(tmp_path: Path, home: Path) -> None:
    result = run_cli("train", str(toy_job_file(tmp_path / "cfg", {})), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    tags = client.get_run(outcome["run_id"]).data.tags
    assert tags["ganforge.version"] == run.ganforge_version()
    assert tags["ganforge.git_commit"].removesuffix("-dirty") == _ganforge_head()
    assert "ganforge.user_commit" not in tags  # tmp_path is no repository
    version = client.get_model_version(outcome["model_name"], outcome["model_version"])
    assert version.tags["git_commit"] == tags["ganforge.git_commit"]
