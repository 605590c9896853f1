"""Image quality at a fixed CPU budget: FID (and its real-vs-real floor), KID, IS, precision/recall.

python benchmarks/image_quality.py [--only NAME ...] [--minutes 10] [--set KEY=VALUE ...]

A short calibration run measures the seconds per G step on this machine (and trains the cached
metric classifier); the job then trains for as many steps as fit in `--minutes`.
Targets (issue 4): FID <= 2x the real-vs-real floor and recall >= 0.6.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import torch
from common import command_line, load_untracked, train_local, write_section

from ganforge.platform.config import parse_override

ALL_AUGMENTS = "color,translation,cutout"
# name -> (config, overrides): the shipped configs, plus DiffAugment on the small digits set.
JOBS = {
    "digits": ("configs/image/digits_dcgan.yaml", {}),
    "digits-diffaugment": ("configs/image/digits_dcgan.yaml", {"model.diffaugment": ALL_AUGMENTS}),
    "shapes": ("configs/image/shapes_resnet.yaml", {}),
    "shapes-dcgan": ("configs/image/shapes_dcgan.yaml", {}),
}
CALIBRATION_STEPS = 60


def budget_steps(path: str, overrides: dict, minutes: float) -> tuple[int, float]:
    """(steps that fit in `minutes`, measured seconds per step) from a short calibration run."""
    job = load_untracked(
        path,
        {**overrides, "train.steps": CALIBRATION_STEPS, "train.log_every": CALIBRATION_STEPS // 2},
    )
    start = time.perf_counter()
    seconds = train_local(job)["step_time"]  # the mean over the second half (warm)
    print(
        f"calibration (with the first metric classifier training): {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    return max(100, int(minutes * 60 / seconds) // 100 * 100), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(JOBS), action="append", help="repeatable")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=None, help="skip calibration, train this many steps")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    base_overrides = {"train.sample_every": 0, **dict(parse_override(item) for item in args.overrides)}
    rows = []
    for name, (path, job_overrides) in JOBS.items():
        if args.only and name not in args.only:
            continue
        overrides = {**base_overrides, **job_overrides}
        if args.steps:
            steps, per_step = args.steps, float("nan")
        else:
            steps, per_step = budget_steps(path, overrides, args.minutes)
        job = load_untracked(path, {**overrides, "train.steps": steps})
        print(name, "steps", steps, "s/step", round(per_step, 3), flush=True)
        start = time.perf_counter()
        m = train_local(job)
        minutes = (time.perf_counter() - start) / 60
        print(name, {k: round(v, 4) for k, v in m.items()}, f"{minutes:.1f} min", flush=True)
        ok = "yes" if m["fid"] <= 2 * m["fid_floor"] and m["recall"] >= 0.6 else "no"
        rows.append(
            f"| {name} | {job.model.arch} {job.data.size}x{job.data.size} | {steps} | {minutes:.1f} | "
            f"{m['fid']:.2f} | {m['fid_floor']:.2f} | {m['fid_ratio']:.1f} | {m['kid']:.2f} / "
            f"{m['kid_floor']:.2f} | {m['inception_score']:.2f} / {m['inception_score_real']:.2f} | "
            f"{m['precision']:.3f} / {m['precision_floor']:.3f} | {m['recall']:.3f} / "
            f"{m['recall_floor']:.3f} | {m['classifier_accuracy']:.3f} | {ok} |"
        )
    body = (
        f"Command: `{command_line()}` ({os.cpu_count()} CPU cores, {torch.get_num_threads()} torch "
        f"thread(s), in-process runner, EMA generator, budget {args.minutes:g} min of training "
        "(steps from a calibration run), metrics in the feature space of the cached real-data "
        "classifier (data.eval.samples generated vs as many real; floor = two disjoint real halves).\n\n"
        "| set | model | G steps | train+eval min | FID | FID floor | FID/floor | KID x1e3 / floor "
        "| IS / real | precision / floor | recall / floor | classifier acc | target met |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "Target (issue 4): FID <= 2x floor and recall >= 0.6."
    )
    print(body)
    if not args.no_write:
        write_section(f"Image quality, {' + '.join(args.only or JOBS)}: FID vs real floor (issue 4)", body)


if __name__ == "__main__":
    main()
