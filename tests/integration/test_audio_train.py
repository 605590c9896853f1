"""The audio tiny job end to end: tracked WAVs and spectrograms, registry, `ganforge generate`.

The conditional tiny job is not run here: the platform's pt2 model logging infers the output
signature from G's output and refuses the (x, y) tuple of a conditional generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile
import yaml
from mlflow.tracking import MlflowClient

from ganforge.modalities.audio import MODALITY
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


def test_run_logs_audio_and_generates_wavs(tmp_path: Path, home: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(MODALITY.tiny_configs()[0]))
    result = run_cli("train", str(config), "--json", cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"is_ratio", "fid", "classifier_accuracy"} <= set(outcome["metrics"])

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    run_id = outcome["run_id"]
    images = [a.path for a in client.list_artifacts(run_id, "images")]
    assert any("spectrogram" in path for path in images), images
    steps = [a.path for a in client.list_artifacts(run_id, "samples")]
    wavs = [a.path for a in client.list_artifacts(run_id, steps[-1]) if a.path.endswith(".wav")]
    assert any(path.endswith("all_generated.wav") for path in wavs), wavs

    out = tmp_path / "generated"
    uri = f"models:/{outcome['model_name']}/{outcome['model_version']}"
    generated = run_cli("generate", uri, "-n", "5", "--out", str(out), cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr[-3000:]
    files = sorted(out.rglob("*.wav"))
    assert len(files) == 5
    data, rate = soundfile.read(files[0])
    assert rate == 4000 and data.shape == (1024,)
    assert files[0].name == "sample_00000.wav"
