"""The README's screenshot script (infra/screenshots/take.py) needs MLflow pages that answer: a real
`mlflow server`, started the script's way over a store laid out like the script's runs, answers
every page's UI and REST calls with 200. No training and no Chromium here (seconds)."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import requests
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from PIL import Image

from ganforge.platform.tracking.runs_view import RunsView, update_view
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("take", REPO / "infra" / "screenshots" / "take.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _store_like_the_script(client: MlflowClient, artifacts: Path) -> None:
    """What find_shown looks for: toy runs with a `quality` history in an experiment with ganforge's
    saved view, an image run with an image and a @champion version, a sweep's parent run with its
    picture."""
    picture = Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8))
    toy = client.create_experiment("toy-ring8", artifact_location=(artifacts / "toy").as_uri())
    update_view(client, toy, RunsView("quality", True, ("modes",)))
    for seed in (1, 2):
        run = client.create_run(toy, tags={"mlflow.runName": f"toy-ring8 seed={seed}"}).info.run_id
        client.log_batch(run, metrics=[Metric("quality", q, 0, step) for step, q in ((300, 0.5), (600, 0.8))])
    image = client.create_experiment("image-digits", artifact_location=(artifacts / "image").as_uri())
    run = client.create_run(image).info.run_id
    client.log_image(run, picture, key="samples", step=300)
    client.create_registered_model("image-digits-dcgan")
    version = client.create_model_version("image-digits-dcgan", f"runs:/{run}/generator", run_id=run)
    client.set_registered_model_alias("image-digits-dcgan", "champion", version.version)
    sweep = client.create_run(toy, tags={"ganforge.kind": "sweep"}).info.run_id
    client.log_image(sweep, picture, artifact_file="parallel_coordinates.png")


def test_every_page_the_script_takes_answers(tmp_path: Path) -> None:
    take = _script()
    backend = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=backend)
    _store_like_the_script(client, tmp_path / "artifacts")
    shown = take.find_shown(client)
    shown_pages = take.pages(shown)
    assert [p.name for p in shown_pages] == ["runs", "charts", "samples", "version", "sweep"]
    assert all("workflowType=machine_learning" in p.fragment for p in shown_pages)  # not GenAI's view
    assert all("viewStateShareKey=ganforge" in p.fragment for p in shown_pages[:2])  # ganforge's view

    with take.mlflow_server(backend, tmp_path / "served", tmp_path / "server.log") as base:
        take.check_pages(base, shown_pages)  # raises, naming the page, on anything but 200
        index = requests.get(f"{base}/", timeout=30)
        assert index.status_code == 200 and '<div id="root"' in index.text  # the UI's single page
        served = requests.get(f"{base}/{shown_pages[2].api[-1]}", timeout=30)  # the samples page's grid
        assert Image.open(io.BytesIO(served.content)).size == (8, 8)
        missing = take.Page("missing", "", "/", (take._api("runs/get", run_id="0" * 32),))
        with pytest.raises(RuntimeError, match="page missing: GET /ajax-api/2.0/mlflow/runs/get"):
            take.check_pages(base, [missing])
        viewless = take.Page("viewless", "", "/", shown_pages[0].api, needs="mlflow.sharedViewState.none")
        with pytest.raises(RuntimeError, match="page viewless: GET /ajax-api/2.0/mlflow/experiments/get"):
            take.check_pages(base, [viewless])
