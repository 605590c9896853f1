"""The README's pictures of the MLflow UI, made again from nothing: `python infra/screenshots/take.py`.

1. Trains a short run of each modality with ganforge's own `ganforge train` (the shipped configs,
   shortened with --set) into a fresh local store, three differing toy runs, a tiny sweep, and moves
   `@champion` with `ganforge select`.
2. Starts `mlflow server` on a free loopback port over that store.
3. Checks that every page's REST calls answer (the same check as tests/integration/test_screenshot_pages.py).
4. Drives headless Chromium (Debian's `chromium` package) to each page and writes small PNGs to
   docs/images/, which README.md shows under "What you will see". The runs list and the charts
   open ganforge's saved view (platform/tracking/runs_view.py): best run first with the metrics
   as columns; the newest samples, then the quality curves.

Needs: `apt-get install chromium`. Takes about 7 minutes on 2 cores (6 of them training).
`--store DIR` keeps (or reuses) the runs, so the pictures alone can be taken again with
`--store DIR --skip-training` (half a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import requests
import yaml
from mlflow.tracking import MlflowClient
from PIL import Image

from ganforge.platform.config import apply_overrides
from ganforge.platform.config.loading import read_yaml
from ganforge.platform.tracking.runs_view import VIEW_QUERY, VIEW_TAG

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "images"
GANFORGE = str(Path(sys.executable).with_name("ganforge"))
ML_VIEW = "workflowType=machine_learning"  # MLflow 3 opens on GenAI's layout without it
WINDOW = 1600  # the browser's width; MLflow's assistant panel takes the right ASSISTANT pixels of it
ASSISTANT = 415  # cut off: it opens by itself on a local server and says nothing about the runs
WIDTH = 1000  # pixels of the saved PNG (the window less the panel, shrunk)


def _short(steps: int, every: int, log_every: int) -> dict[str, int | str]:
    """A shortened run (in this process) whose checkpoints, evaluations and samples still land
    several times."""
    return {
        "train.runner": "local",
        "train.steps": steps, "train.checkpoint_every": every, "train.eval_every": every,
        "train.sample_every": every, "train.log_every": log_every,
    }  # fmt: skip


# (shipped config, its shortening, the runs: each run's --set items). The shortening is written into a
# copy of the config (same name), so a run's name shows only what tells it from its siblings.
RUNS: list[tuple[str, dict[str, int | str], list[list[str]]]] = [
    (
        "configs/toy/ring8.yaml",
        _short(1500, 300, 25),
        [["train.seed=1"], ["train.seed=2"], ["train.seed=1", "gan.loss=hinge"]],
    ),
    ("configs/image/digits_dcgan.yaml", _short(1200, 300, 25), [[]]),
    ("configs/audio/wavegan_cpu.yaml", _short(100, 50, 10), [[]]),
    ("configs/tokens/oracle_mle.yaml", _short(200, 100, 10), [[]]),
    ("configs/timeseries/sines_convgan.yaml", _short(200, 100, 10), [[]]),
]
SWEEP = "configs/sweeps/toy_tiny.yaml"
CHAMPIONS = [("toy-ring8", "reverse_kl", "min"), ("image-digits", "fid", "min")]


@dataclass(frozen=True)
class Page:
    """One picture: where the UI shows it (`fragment`, after the `#`) and the REST calls its
    content comes from (`api`: GET paths under the server), which must answer before it is taken."""

    name: str
    caption: str
    fragment: str
    api: tuple[str, ...]
    height: int = 800
    needs: str = ""
    """text the first REST call's answer must hold (the saved view the page opens)"""

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/#{self.fragment}"


@dataclass(frozen=True)
class Shown:
    """Which experiment, runs and version the pictures show."""

    runs_experiment: str
    """the experiment whose runs list is shown (the three toy runs)"""
    charts_run: str
    samples_experiment: str
    samples_run: str
    samples_image: str
    """an artifact path of the samples run's image grid"""
    model: str
    version: str
    sweep_experiment: str | None = None
    sweep_run: str | None = None


def _api(endpoint: str, **query: str) -> str:
    return f"ajax-api/2.0/mlflow/{endpoint}?{urlencode(query)}"


def pages(shown: Shown) -> list[Page]:
    """The pages the README shows, in order."""
    runs_exp, toy_run = shown.runs_experiment, shown.charts_run
    found = [
        Page(
            "runs",
            "The runs list in ganforge's saved view: best quality first, the metrics as columns.",
            f"/experiments/{runs_exp}/runs?{ML_VIEW}&{VIEW_QUERY}",
            (_api("experiments/get", experiment_id=runs_exp),),
            height=560,
            needs=VIEW_TAG,
        ),
        Page(
            "charts",
            "The runs' charts, overlaid: the newest samples on top, then the quality curves.",
            f"/experiments/{runs_exp}/runs?{ML_VIEW}&{VIEW_QUERY}&compareRunsMode=CHART",
            (
                _api("experiments/get", experiment_id=runs_exp),
                _api("runs/get", run_id=toy_run),
                _api("metrics/get-history", run_id=toy_run, metric_key="quality"),
            ),
            height=1150,
            needs=VIEW_TAG,
        ),
        Page(
            "samples",
            "Samples a person can judge: the newest image grid, enlarged, with real digits beside it.",
            f"/experiments/{shown.samples_experiment}/runs/{shown.samples_run}/artifacts/{shown.samples_image}?{ML_VIEW}",
            (
                _api("runs/get", run_id=shown.samples_run),
                _api("artifacts/list", run_id=shown.samples_run, path="images"),
                "get-artifact?" + urlencode({"path": shown.samples_image, "run_uuid": shown.samples_run}),
            ),
            height=900,
        ),
        Page(
            "version",
            "A model version that shows itself: the @champion alias, a sample and a card in its description.",
            f"/models/{shown.model}/versions/{shown.version}?{ML_VIEW}",
            (
                _api("registered-models/get", name=shown.model),
                _api("model-versions/get", name=shown.model, version=shown.version),
            ),
            height=1000,
        ),
    ]
    if shown.sweep_experiment and shown.sweep_run:
        sweep_exp, sweep_run = shown.sweep_experiment, shown.sweep_run
        found.append(
            Page(
                "sweep",
                "A sweep's parent run: trial values against the metric, best_trial/ and summary.html beside.",
                f"/experiments/{sweep_exp}/runs/{sweep_run}/artifacts/parallel_coordinates.png?{ML_VIEW}",
                (
                    _api("runs/get", run_id=sweep_run),
                    "get-artifact?" + urlencode({"path": "parallel_coordinates.png", "run_uuid": sweep_run}),
                ),
                height=1100,
            )
        )
    return found


def check_pages(base: str, shown_pages: Sequence[Page], timeout_s: float = 30) -> None:
    """Raises RuntimeError naming the first page whose UI or REST call does not answer 200, or
    whose first REST answer lacks what the page `needs`."""
    for page in shown_pages:
        for path in ("", *page.api):
            response = requests.get(f"{base.rstrip('/')}/{path}", timeout=timeout_s)
            if response.status_code != 200:
                raise RuntimeError(f"page {page.name}: GET /{path} answered {response.status_code}")
            if page.needs and path == page.api[0] and page.needs not in response.text:
                raise RuntimeError(f"page {page.name}: GET /{path} lacks {page.needs}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def mlflow_server(backend_uri: str, artifacts: Path, log: Path) -> Iterator[str]:
    """`mlflow server` on a free loopback port over `backend_uri`; yields its URL, stops it after."""
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--backend-store-uri", backend_uri, "--artifacts-destination", str(artifacts),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({server.returncode}); see {log}")
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not answer on {base} within 120 s; see {log}")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _ganforge(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [GANFORGE, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        raise RuntimeError(f"ganforge {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def make_runs(store: Path, env: dict[str, str], sweep: bool) -> None:
    """The runs the pictures show, trained the way a user would (through `ganforge`)."""
    configs = store / "configs"
    configs.mkdir(parents=True, exist_ok=True)
    for shipped, shortening, runs in RUNS:
        config = configs / Path(shipped).name
        config.write_text(yaml.safe_dump(apply_overrides(read_yaml(REPO / shipped), shortening)))
        for sets in runs:
            started = time.monotonic()
            _ganforge(env, "train", str(config), *(f"--set={item}" for item in sets))
            print(f"trained {config.name} {' '.join(sets)} ({time.monotonic() - started:.0f} s)", flush=True)
    for experiment, metric, mode in CHAMPIONS:
        _ganforge(env, "select", "--experiment", experiment, "--metric", metric, "--mode", mode)
    if sweep:
        started = time.monotonic()
        _ganforge(env, "sweep", SWEEP, "--json")
        print(f"swept {SWEEP} ({time.monotonic() - started:.0f} s)", flush=True)


def find_shown(client: MlflowClient) -> Shown:
    """The experiment, runs and version to show, looked up in the store by name."""
    toy = client.get_experiment_by_name("toy-ring8")
    image = client.get_experiment_by_name("image-digits")
    if toy is None or image is None:
        raise RuntimeError("the store lacks the toy-ring8 or image-digits runs: train them first")
    toy_runs = client.search_runs([toy.experiment_id], order_by=["attributes.start_time ASC"])
    image_run = client.search_runs([image.experiment_id], order_by=["attributes.start_time DESC"])[0]
    grids = [
        a.path for a in client.list_artifacts(image_run.info.run_id, "images") if a.path.endswith(".png")
    ]
    registered = client.search_model_versions(f"run_id = '{image_run.info.run_id}'")[0]
    champion = client.get_model_version_by_alias(registered.name, "champion")
    sweep = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        "tags.`ganforge.kind` = 'sweep'",
        max_results=1,
    )
    return Shown(
        runs_experiment=toy.experiment_id,
        charts_run=toy_runs[0].info.run_id,
        samples_experiment=image.experiment_id,
        samples_run=image_run.info.run_id,
        samples_image=next((g for g in grids if "latest~" in g), grids[-1]),
        model=champion.name,
        version=champion.version,
        sweep_experiment=sweep[0].info.experiment_id if sweep else None,
        sweep_run=sweep[0].info.run_id if sweep else None,
    )


def capture(url: str, path: Path, height: int, wait_ms: int) -> None:
    """One headless-Chromium screenshot of `url` at WINDOW x `height`, after `wait_ms` of page time
    (MLflow's UI is a single-page app: it draws after its REST calls return)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("no chromium on PATH: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="ganforge-chromium-") as profile:
        command = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
            "--force-device-scale-factor=1", f"--window-size={WINDOW},{height}",
            f"--virtual-time-budget={wait_ms}", f"--screenshot={path}", url,
        ]  # fmt: skip
        subprocess.run(command, capture_output=True, timeout=180, check=True)


def shrink(path: Path, width: int = WIDTH) -> None:
    """Without the assistant panel, `width` pixels wide, as a palette PNG: tens of KB per page."""
    with Image.open(path) as image:
        rgb = image.convert("RGB").crop((0, 0, image.width - ASSISTANT, image.height))
    height = round(rgb.height * width / rgb.width)
    small = rgb.resize((width, height), Image.Resampling.LANCZOS)
    small.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--store", type=Path, help="GANFORGE_HOME to train into (default: a temporary folder)"
    )
    parser.add_argument("--skip-training", action="store_true", help="reuse the runs already in --store")
    parser.add_argument("--no-sweep", action="store_true", help="leave out the sweep and its picture")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default: {OUT})")
    parser.add_argument("--wait-ms", type=int, default=40000, help="page time before each picture")
    parser.add_argument(
        "--only", nargs="*", help="take only these pages (runs, charts, samples, version, sweep)"
    )
    args = parser.parse_args(argv)
    store = args.store or Path(tempfile.mkdtemp(prefix="ganforge-screenshots-"))
    store.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["GANFORGE_HOME"] = str(store)
    if not args.skip_training:
        make_runs(store, env, sweep=not args.no_sweep)
    backend = f"sqlite:///{store / 'mlflow.db'}"
    shown = find_shown(MlflowClient(tracking_uri=backend))
    args.out.mkdir(parents=True, exist_ok=True)
    with mlflow_server(backend, store / "served-artifacts", store / "mlflow-server.log") as base:
        wanted = [p for p in pages(shown) if not args.only or p.name in args.only]
        check_pages(base, wanted)
        for page in wanted:
            path = args.out / f"{page.name}.png"
            capture(page.url(base), path, page.height, args.wait_ms)
            shrink(path)
            print(
                f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {page.caption}", flush=True
            )
    print(json.dumps({"store": str(store), "pages": [p.name for p in wanted]}))


if __name__ == "__main__":
    main()
