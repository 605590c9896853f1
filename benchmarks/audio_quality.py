"""WaveGAN at CPU size on the built-in spoken digits: classifier inception score ratio and FID.

python benchmarks/audio_quality.py [--config FILE] [--threads 1] [--set KEY=VALUE ...]

Anchors (SC09, classifier inception score generated / real): WaveGAN 4.53 / 8.48 = 0.53 and
DiffWave 0.63 (DiffWave, Kong et al. 2021, Table 2).
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from common import command_line, load_untracked, train_local, write_section

from ganforge.platform.config import parse_override

ANCHOR = "WaveGAN 0.53 (4.53 / 8.48), DiffWave 0.63 (SC09, DiffWave Table 2)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="configs/audio/wavegan_cpu.yaml")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the 2 cores are shared)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--title", default="Audio: WaveGAN at CPU size on spoken digits (issue 5)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    job = load_untracked(args.config, dict(parse_override(item) for item in args.overrides))
    start = time.perf_counter()
    metrics = train_local(job)
    minutes = (time.perf_counter() - start) / 60
    print({k: round(v, 4) for k, v in metrics.items()}, f"{minutes:.1f} min", flush=True)
    d, m = job.data, job.model
    body = (
        f"Command: `{command_line()}` ({os.cpu_count()} CPU cores shared with other jobs, "
        f"{args.threads} torch thread(s), in-process runner, no GPU lent to this session). "
        f"{d.window} samples at {d.sample_rate} Hz, d = {m.model_dim}, batch {job.train.batch_size}, "
        f"{job.gan.n_critic} critic steps, {job.train.steps} G steps, EMA generator "
        f"{'on' if job.gan.ema.enabled else 'off'}; {d.eval.samples} generated clips scored by the "
        f"log-mel CNN metric model trained on the real set ({d.per_digit * 10} espeak-ng digits, "
        "80/20 split); the real score is that of a real half as large. Wall time includes building "
        "the set and training the metric model when not cached.\n\n"
        "| IS generated | IS real (ceiling) | IS ratio | FID | classifier accuracy | wall min "
        "| anchor (IS ratio) |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {metrics['inception_score']:.2f} | {metrics['inception_score_real']:.2f} | "
        f"{metrics['is_ratio']:.3f} | {metrics['fid']:.2f} | {metrics['classifier_accuracy']:.3f} | "
        f"{minutes:.1f} | {ANCHOR} |"
    )
    print(body)
    if not args.no_write:
        write_section(args.title, body)


if __name__ == "__main__":
    main()
