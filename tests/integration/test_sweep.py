"""`ganforge sweep` on a real local Ray and MLflow store: parent/child runs, the summary table,
the best trial registered, divergence-aware stopping, and `--resume` after an interruption."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from mlflow.tracking import MlflowClient
from PIL import Image

from ganforge.pipelines.sweep.coordinates import AXES_KEY, LINES_KEY
from tests.conftest import REPO, run_cli, start_interruptible

pytestmark = pytest.mark.integration
TINY = REPO / "configs" / "sweeps" / "toy_tiny.yaml"


def _client(home: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")


def _sweep_file(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(TINY.read_text())
    raw.update(changes)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _children(client: MlflowClient, parent_id: str) -> list:
    experiment = client.get_run(parent_id).info.experiment_id
    return client.search_runs([experiment], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'")


def test_sweep_tracks_trials_and_registers_the_best(tmp_path: Path, home: Path) -> None:
    result = run_cli("sweep", str(TINY), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(outcome["trials"]) == 4 and all(t["outcome"] == "completed" for t in outcome["trials"])
    best = min(outcome["trials"], key=lambda t: t["value"])
    assert outcome["best"]["trial_id"] == best["trial_id"]

    client = _client(home)
    parent = client.get_run(outcome["parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["ganforge.best_trial"] == best["trial_id"]
    children = _children(client, parent.info.run_id)
    assert len(children) == 4 and all(c.info.status == "FINISHED" for c in children)
    for child in children:  # sampled values reached the trial's config through the override function
        trial = next(t for t in outcome["trials"] if t["run_id"] == child.info.run_id)
        assert float(child.data.params["gan.g_opt.lr"]) == pytest.approx(trial["params"]["gan.g_opt.lr"])
        assert child.data.params["train.eval_every"] == "20"
        kept = Path(child.data.tags["ganforge.best_checkpoint"])  # out of Tune's last-k pruning
        assert kept.name == trial["trial_id"] and (kept / "state.pt").exists()
    summary = json.loads(
        Path(client.download_artifacts(parent.info.run_id, "summary.json", str(tmp_path))).read_text()
    )
    assert set(summary["columns"]) >= {"trial_id", "gan.g_opt.lr", "gan.loss", "reverse_kl", "outcome"}
    assert len(summary["data"]) == 4

    version = client.get_model_version("toy-tiny", outcome["model_version"])
    assert version.run_id == best["run_id"]
    _check_parent_shows_the_sweep(client, parent, best, tmp_path)


def _check_parent_shows_the_sweep(client: MlflowClient, parent, best: dict, tmp_path: Path) -> None:
    """The parent run at a glance: the picture, the best trial's samples, the ranked table."""
    run_id = parent.info.run_id
    picture = Path(client.download_artifacts(run_id, "parallel_coordinates.png", str(tmp_path)))
    with Image.open(picture) as image:  # one axis per searched parameter, the metric last; 4 lines
        assert image.format == "PNG" and image.width > 400
        assert json.loads(image.text[AXES_KEY]) == ["gan.g_opt.lr", "gan.loss", "reverse_kl"]
        assert image.text[LINES_KEY] == "4"
    card = [a.path for a in client.list_artifacts(run_id, "best_trial/model_card")]
    assert len(card) == 1 and card[0].endswith(".png")  # the registered version's picture, copied
    table = Path(client.download_artifacts(run_id, "summary.html", str(tmp_path))).read_text()
    assert table.count("<tr") == 5 and best["trial_id"] in table
    note = client.get_run(run_id).data.tags["mlflow.note.content"]  # the Overview's description
    assert f"path=parallel_coordinates.png&run_uuid={run_id}" in note  # the pictures, as the UI fetches them
    assert f"path={quote(card[0], safe='')}&run_uuid={run_id}" in note
    ranked = [line for line in note.splitlines() if line.startswith("| 1 |")]
    assert len(ranked) == 1 and best["trial_id"] in ranked[0]  # the best trial heads the table


def test_divergence_rules_stop_trials_and_tag_them(tmp_path: Path, home: Path) -> None:
    # A collapse rule every trial meets at its first report: all stop at step 20 of 40.
    rules = {"collapse_metric": "modes", "collapse_below": 100, "collapse_after": 0}
    sweep = _sweep_file(tmp_path, divergence=rules, num_samples=2)
    result = run_cli("sweep", str(sweep), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert [t["step"] for t in outcome["trials"]] == [20, 20]
    assert all(t["outcome"].startswith("stopped: collapse: modes = ") for t in outcome["trials"])
    assert outcome["best"] is None and outcome["model_version"] is None

    client = _client(home)
    for child in _children(client, outcome["parent_run_id"]):
        assert child.info.status == "FAILED"
        assert child.data.tags["ganforge.stop_reason"].startswith("stopped: collapse")
    assert client.search_registered_models() == []


# Long enough that the interrupt below lands while the second trial runs, even on a fast machine.
INTERRUPTED_STEPS = 400


def _finished(home: Path) -> list[Path]:
    """result.json of every trial that reached its last step."""
    last = f'"step": {INTERRUPTED_STEPS}'
    return [p for p in home.glob("sweeps/*/tune_trainable_*/result.json") if last in p.read_text()]


def test_interrupted_sweep_resumes_without_rerunning_finished_trials(tmp_path: Path, home: Path) -> None:
    sweep = _sweep_file(tmp_path, max_concurrent=1, job={**yaml.safe_load(TINY.read_text())["job"], "train": {
        "steps": INTERRUPTED_STEPS, "batch_size": 32, "log_every": 20, "sample_every": 0}})  # fmt: skip
    process = start_interruptible("sweep", str(sweep), cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        finished: list[Path] = []
        while not finished:  # interrupt once the first trial has completed
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
            finished = _finished(home)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=300)
    finally:
        process.kill()
    done_before = {p.parent.name: p.read_text() for p in finished}
    assert len(_finished(home)) < 4  # the interrupt stopped the sweep before its end

    result = run_cli("sweep", str(sweep), "--resume", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(outcome["trials"]) == 4 and all(t["step"] == INTERRUPTED_STEPS for t in outcome["trials"])
    for name, text in done_before.items():  # the finished trial's results were not produced again
        assert (next(home.glob(f"sweeps/*/{name}")) / "result.json").read_text() == text
    assert len(_children(_client(home), outcome["parent_run_id"])) == 4
