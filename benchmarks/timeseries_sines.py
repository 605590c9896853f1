"""TimeGAN's sines benchmark: discriminative and predictive scores (TimeGAN paper, Table 2).

Runs the temporal-convolution GAN (configs/timeseries/sines_convgan.yaml) and TimeGAN
(configs/timeseries/sines_timegan.yaml) with the step budgets given, scores both with TimeGAN's
post-hoc GRUs (2,000 / 5,000 iterations, 5,000 real vs 5,000 generated windows).

python benchmarks/timeseries_sines.py [--convgan-steps 4000] [--timegan-steps 0] [--timegan-phase 600]
"""

from __future__ import annotations

import argparse
import time

import torch

from common import command_line, load_untracked, train_local, write_section

from ganforge.platform.config import parse_override

KEYS = ("discriminative_score", "predictive_score")
SECTION = "Timeseries: TimeGAN sines scores (issue 6)"


def _run(config: str, overrides: dict) -> tuple[dict[str, float], float]:
    job = load_untracked(
        config, {"train.checkpoint_every": 10**9, "train.eval_every": 0, "train.sample_every": 0, **overrides}
    )
    start = time.perf_counter()
    metrics = train_local(job)
    minutes = (time.perf_counter() - start) / 60
    print(config, {k: round(metrics[k], 4) for k in KEYS}, f"{minutes:.1f} min", flush=True)
    return metrics, minutes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--convgan-steps", type=int, default=4000)
    parser.add_argument("--timegan-steps", type=int, default=0, help="total TimeGAN steps (0: skip)")
    parser.add_argument("--timegan-phase", type=int, default=600, help="embedding and supervised steps each")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE, both jobs")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    extra = dict(parse_override(item) for item in args.overrides)
    rows = []
    metrics, minutes = _run(
        "configs/timeseries/sines_convgan.yaml", {"train.steps": args.convgan_steps, **extra}
    )
    rows.append(("convgan (temporal-convolution GAN)", args.convgan_steps, metrics, minutes))
    if args.timegan_steps:
        phases = {"model.embedding_steps": args.timegan_phase, "model.supervised_steps": args.timegan_phase}
        metrics, minutes = _run(
            "configs/timeseries/sines_timegan.yaml", {"train.steps": args.timegan_steps, **phases, **extra}
        )
        label = f"TimeGAN ({args.timegan_phase} embedding + {args.timegan_phase} supervised + joint)"
        rows.append((label, args.timegan_steps, metrics, minutes))
    table = "\n".join(
        f"| {label} | {steps} | {m['discriminative_score']:.3f} ± {m['discriminative_score_sd']:.3f} "
        f"| {m['predictive_score']:.3f} ± {m['predictive_score_sd']:.3f} | {minutes:.1f} |"
        for label, steps, m, minutes in rows
    )
    body = (
        f"Command: `{command_line()}` (2 shared CPU cores, "
        f"{torch.get_num_threads()} torch thread(s), in-process runner; one run each; scores are mean ± sd "
        "over data.posthoc_repeats seeded post-hoc classifiers / predictors, on 5,000 real and 5,000 "
        "generated windows).\n\n"
        "Anchors (TimeGAN paper, Table 2, sines): discriminative 0.011, predictive 0.093; target "
        "discriminative <= 0.05 and predictive <= 0.10. Real data's own predictive score (a predictor "
        "trained on real windows) is the floor the predictive score can reach.\n\n"
        "| method | G steps | discriminative | predictive | wall min (with scoring) |\n"
        "|---|---|---|---|---|\n" + table
    )
    print(body)
    if not args.no_write:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
