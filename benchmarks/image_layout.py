"""Step time of image jobs with G and D in channels-last (NHWC, as shipped) against NCHW weights.

python benchmarks/image_layout.py [--steps 30] [--rounds 4] [--threads 1] [--no-write] [CONFIG ...]
    (default: the shipped CPU image configs, each in fp32 and in bf16)

For each config and precision it builds the job's parts once (the platform's loop, in-process,
tracking off) and times full G steps (batch, D step, G step) with both nets in one layout, then in
the other, alternating `--rounds` times so that a machine that speeds up or slows down affects both
alike; a layout's figure is the median of its rounds. Only the memory format of the weights (and
so of every activation after them) differs: the same nets, values, batches and optimizer. The
ratio NCHW / NHWC is the speed-up the image modality's layout brings (modalities/image/nets.py).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import torch
from common import ab_timing_parser, command_line, step_timer, write_section

from ganforge.platform.config.loading import load_job_file
from ganforge.platform.runners import loop
from ganforge.platform.runners.local import LocalContext, torch_threads

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("shapes_resnet", "shapes_dcgan", "digits_dcgan", "digits_conditional")
LAYOUTS = {"NCHW": torch.contiguous_format, "NHWC": torch.channels_last}


def measure(config: Path, precision: str, steps: int, rounds: int) -> dict[str, float]:
    """Median seconds per G step in each layout."""
    job = load_job_file(config, {"tracking.enabled": False, "gan.precision": precision})
    with tempfile.TemporaryDirectory() as tmp:
        parts = loop._build(job, LocalContext(Path(tmp)))
    run = step_timer(job, parts)
    nets = (parts.nets.g_module, parts.nets.d_module)
    times: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    run(5)  # warm-up: oneDNN picks its kernels on the first calls
    for _ in range(rounds):
        for name, layout in LAYOUTS.items():
            for net in nets:
                net.to(memory_format=layout)
            run(2)
            times[name].append(run(steps))
    return {name: statistics.median(values) for name, values in times.items()}


def table(rows: list[tuple[str, str, dict[str, float]]]) -> str:
    lines = [
        "| config | precision | NCHW s/step | NHWC s/step | NCHW / NHWC |",
        "|---|---|---|---|---|",
    ]
    for config, precision, t in rows:
        ratio = t["NCHW"] / t["NHWC"]
        lines.append(f"| {config} | {precision} | {t['NCHW']:.4f} | {t['NHWC']:.4f} | **{ratio:.2f}x** |")
    return "\n".join(lines)


def main() -> None:
    parser = ab_timing_parser(__doc__ or "", 30, "G steps per round and layout")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    args = parser.parse_args()
    configs = args.configs or [ROOT / "configs" / "image" / f"{name}.yaml" for name in CONFIGS]
    rows = []
    with torch_threads(args.threads):
        for config in configs:
            for precision in args.precisions:
                t = measure(config.resolve(), precision, args.steps, args.rounds)
                rows.append((config.stem, precision, t))
                print(
                    f"{config.stem} {precision}: " + ", ".join(f"{k} {v:.4f}" for k, v in t.items()),
                    flush=True,
                )
    body = (
        f"Command: `{command_line()}` ({args.threads} torch thread(s), in-process, tracking off; "
        f"median of {args.rounds} alternated rounds of {args.steps} G steps per layout).\n\n" + table(rows)
    )
    print(body)
    if not args.no_write:
        write_section("Image nets in channels-last memory format: step time", body)


if __name__ == "__main__":
    main()
