"""Two ganforge candidates of one config side by side: a quick paired screen before a 3-seed run.

python benchmarks/candidate_pair.py --config configs/image/shapes_resnet.yaml --seed 0 --minutes 10 \
    --a 'KEY=VALUE;KEY=VALUE' --b 'KEY=VALUE'

Both candidates (each the config with its `;`-separated overrides) train at once, one core each, the
same seed and wall budget, through ganforge_timed.py, exactly as ganforge's side of
image_vs_reference.py; both are then scored by the set's metric model against real half A. Pairing the
candidates under the same load removes the machine's day-to-day speed from the difference; one seed
only says which candidate is worth the 3-seed run against the reference. Prints the scores and writes
an 8x8 grid per candidate to --samples-dir; writes nothing to RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from side_by_side import (
    LATENT_SEED,
    ganforge_command,
    ganforge_generators,
    ganforge_samples,
    prepare_entry,
    run_pair,
    score,
)

from ganforge.modalities.image.samples import write_grid

KEYS = ("steps", "fid", "precision", "recall", "min_share", "classes_third")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--a", default="", help="candidate A's overrides, KEY=VALUE;KEY=VALUE")
    parser.add_argument("--b", default="", help="candidate B's overrides")
    parser.add_argument("--samples-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    entries = {
        name: prepare_entry(args.config, [item for item in spec.split(";") if item])
        for name, spec in (("A", args.a), ("B", args.b))
    }
    tmp = Path(tempfile.mkdtemp(prefix="candidate-pair-"))
    commands = {name: ganforge_command(entry, args.seed, args.minutes) for name, entry in entries.items()}
    outs = run_pair(commands, args.seed, args.minutes, tmp)
    for name, entry in entries.items():
        run = json.loads((outs[name] / "run.json").read_text())
        for row, net in ganforge_generators(entry, outs[name]).items():
            x = ganforge_samples(entry, net, len(entry.half_a), LATENT_SEED + args.seed)
            result = score(entry, x, run)
            print(
                f"{name} [{entry.label}] seed {args.seed} {row}: "
                + ", ".join(f"{k} {result[k]:.4g}" for k in KEYS),
                flush=True,
            )
            if row == "ganforge":
                grid = write_grid(x[:64], args.samples_dir, 0, name=f"candidate-{name}_seed{args.seed}.png")
                print(f"  grid: {grid}", flush=True)


if __name__ == "__main__":
    main()
