"""Step time of TimeGAN jobs with the hand-written GRU (as shipped) against `nn.GRU`'s autograd.

python benchmarks/timeseries_gru.py [--steps 20] [--rounds 4] [--threads 1] [--no-write] [CONFIG ...]
    (default: the shipped TimeGAN configs)

For each config it builds the job's parts once (the platform's loop, in-process, tracking off)
and times full joint-phase steps (batch, D step, two G and E rounds) with the networks' GRUs run
by `modalities/timeseries/gru.py`, then by `nn.GRU` itself, alternating `--rounds` times so that
a machine that speeds up or slows down affects both alike; a side's figure is the median of its
rounds. The same networks, parameters and optimizers: only how the GRU's backward is computed
differs (the unit tests hold the two to float rounding).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from common import ab_timing_parser, command_line, step_timer, write_section

from ganforge.modalities.timeseries import nets
from ganforge.modalities.timeseries.gru import gru_states
from ganforge.platform.config.loading import load_job_file
from ganforge.platform.runners import loop
from ganforge.platform.runners.local import LocalContext, torch_threads

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("sines_timegan", "seasonal_timegan")
SIDES = {"nn.GRU": lambda rnn, x: rnn(x)[0], "hand-written": gru_states}


def measure(config: Path, steps: int, rounds: int) -> dict[str, float]:
    """Median seconds per joint step with each GRU."""
    job = load_job_file(config, {"tracking.enabled": False})
    with tempfile.TemporaryDirectory() as tmp:
        parts = loop._build(job, LocalContext(Path(tmp)))
    run = step_timer(job, parts, first_step=job.model.embedding_steps + job.model.supervised_steps)
    times: dict[str, list[float]] = {name: [] for name in SIDES}
    try:
        for _ in range(rounds):
            for name, gru in SIDES.items():
                nets.gru_states = gru  # what _Recurrent.forward calls
                run(2)
                times[name].append(run(steps))
    finally:
        nets.gru_states = gru_states
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = ab_timing_parser(__doc__ or "", 20, "joint steps per round and side")
    args = parser.parse_args()
    configs = args.configs or [ROOT / "configs" / "timeseries" / f"{name}.yaml" for name in CONFIGS]
    lines = ["| config | nn.GRU s/step | hand-written s/step | ratio |", "|---|---|---|---|"]
    with torch_threads(args.threads):
        for config in configs:
            t = measure(config.resolve(), args.steps, args.rounds)
            ratio = t["nn.GRU"] / t["hand-written"]
            cells = f"{t['nn.GRU']:.4f} | {t['hand-written']:.4f} | **{ratio:.2f}x**"
            lines.append(f"| {config.stem} | {cells} |")
            print(lines[-1], flush=True)
    body = (
        f"Command: `{command_line()}` ({args.threads} torch thread(s), in-process, tracking off; median of "
        f"{args.rounds} alternated rounds of {args.steps} joint-phase steps per side).\n\n" + "\n".join(lines)
    )
    print(body)
    if not args.no_write:
        write_section("TimeGAN with a hand-written GRU backward: step time (issue 17)", body)


if __name__ == "__main__":
    main()
