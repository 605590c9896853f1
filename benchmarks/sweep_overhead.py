"""Sweep overhead: `ganforge sweep` against the same trials as a plain Ray Tune function trainable.

    python benchmarks/sweep_overhead.py [--trials 8] [--steps 400] [--report-every 200] [--repeats 2]

Both sides train the toy grid-25 nets (3x256 MLPs, batch 256) with Adam at 8 learning rates,
two trials at a time on one local Ray, reporting every `report_every` steps with a checkpoint
and the mode metrics. The plain side is the trainable a Ray user writes by hand (the pattern of
Ray's pbt_dcgan_mnist example); the ganforge side is the whole `run_sweep`: sweep validation,
MLflow parent and child runs with metrics, the summary table and registering the best
generator. Interleaved per repeat; the figure is the ratio of wall times (target <= 1.15).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from common import command_line, write_section
from ray import tune

from ganforge.modalities.toy import MODALITY
from ganforge.modalities.toy.data import mode_centres, mode_sigma
from ganforge.modalities.toy.metrics import mode_metrics
from ganforge.pipelines.sweep import load_sweep_file, run_sweep
from ganforge.platform.cluster.connect import connect
from ganforge.platform.config import load_job_file

CONFIG = Path("configs/toy/grid25.yaml").resolve()


def plain_trainable(config: dict) -> None:
    """A hand-written Tune function trainable: train, report with a checkpoint, evaluate."""
    job = load_job_file(config["config"], {"train.steps": config["steps"]})
    torch.manual_seed(job.train.seed)
    prepared = MODALITY.prepare(job.data)
    g = MODALITY.build_generator(job.model, prepared)
    d = MODALITY.build_discriminator(job.model, prepared)
    data = prepared.dataset.tensors[0]
    opt_g = torch.optim.Adam(g.parameters(), config["lr"], job.gan.g_opt.betas)
    opt_d = torch.optim.Adam(d.parameters(), job.gan.d_opt.lr, job.gan.d_opt.betas)
    batch, latent = job.train.batch_size, job.model.latent_dim
    centres, sigma = mode_centres(job.data), mode_sigma(job.data)
    for step in range(1, config["steps"] + 1):
        real = data[torch.randint(len(data), (batch,))]
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(g(torch.randn(batch, latent)).detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        d.requires_grad_(False)
        loss_g = F.softplus(-d(g(torch.randn(batch, latent)))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        if step % config["report_every"] == 0:
            with torch.no_grad():
                metrics = mode_metrics(g(torch.randn(2500, latent)).numpy(), centres, sigma)
            with tempfile.TemporaryDirectory() as tmp:
                torch.save({"g": g.state_dict(), "d": d.state_dict()}, Path(tmp) / "state.pt")
                tune.report({"step": step, **metrics}, checkpoint=tune.Checkpoint.from_directory(tmp))


def run_plain(lrs: list[float], steps: int, report_every: int, storage: str) -> float:
    start = time.perf_counter()
    space = {"lr": tune.grid_search(lrs), "steps": steps, "report_every": report_every, "config": str(CONFIG)}
    tuner = tune.Tuner(
        tune.with_resources(plain_trainable, {"cpu": 1}),
        param_space=space,
        tune_config=tune.TuneConfig(metric="modes", mode="max", max_concurrent_trials=2),
        run_config=tune.RunConfig(storage_path=storage, verbose=0),
    )
    results = tuner.fit()
    assert results.num_errors == 0
    return time.perf_counter() - start


def run_ganforge(lrs: list[float], steps: int, report_every: int, folder: Path) -> float:
    sweep = {
        "name": "overhead",
        "base": str(CONFIG),
        "overrides": {"train.sample_every": 0, "train.log_every": 50},
        "space": {"gan.g_opt.lr": {"grid": lrs}},
        "metric": "modes",
        "mode": "max",
        "num_samples": 1,
        "max_concurrent": 2,
        "report_every": report_every,
        "stop": {"steps": steps},
        "storage_path": str(folder / "sweeps"),
    }
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    start = time.perf_counter()
    outcome = run_sweep(load_sweep_file(path))
    assert all(t.outcome == "completed" for t in outcome.trials) and outcome.model_version
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--report-every", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    lrs = [float(f"{1e-4 * 1.5**i:.3g}") for i in range(args.trials)]
    root = Path(tempfile.mkdtemp(prefix="ganforge-sweep-bench-"))
    os.environ["GANFORGE_HOME"] = str(root / "home")  # tracked to the embedded MLflow store
    connect(num_cpus=2)
    plain, ours = [], []
    for repeat in range(args.repeats):
        sides = [("plain", plain), ("ganforge", ours)]
        for name, bucket in sides if repeat % 2 == 0 else sides[::-1]:
            folder = root / f"{name}-{repeat}"
            folder.mkdir(parents=True)
            if name == "plain":
                bucket.append(run_plain(lrs, args.steps, args.report_every, str(folder)))
            else:
                bucket.append(run_ganforge(lrs, args.steps, args.report_every, folder))
            print(f"repeat {repeat}: {name} {bucket[-1]:.1f} s", flush=True)
    ratio = statistics.median(ours) / statistics.median(plain)
    body = f"""Command: `{command_line()}`

{args.trials} single-worker trials of the toy grid-25 job ({args.steps} steps, batch 256, a report
with checkpoint and mode metrics every {args.report_every} steps), two at a time on a local Ray
with 2 CPUs. ganforge: the whole `run_sweep` with MLflow parent/child runs on the embedded store,
the summary table and the best generator registered. Plain: a hand-written Tune function trainable.

| | wall s (median of {args.repeats}) | per repeat |
|---|---|---|
| plain Ray Tune trainable | {statistics.median(plain):.1f} | {", ".join(f"{v:.1f}" for v in plain)} |
| ganforge sweep | {statistics.median(ours):.1f} | {", ".join(f"{v:.1f}" for v in ours)} |

**ganforge / plain wall time: {ratio:.3f}** (target <= 1.15).
"""
    write_section("Sweep overhead (issue 7)", body)
    print(body)


if __name__ == "__main__":
    main()
