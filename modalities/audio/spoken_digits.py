"""The built-in offline set: spoken digits "zero".."nine" synthesised with espeak-ng (SC09-like).

Every utterance draws an accent, a voice variant, a pitch, a loudness and a speaking rate
from a seeded generator, so the set is the same on every machine with the same espeak-ng.
The set is a folder of WAV files in one sub-folder per digit, the layout `dataset: folder`
reads, so it can also be used as a template for one's own data. Rebuild it with

    python -m ganforge.modalities.audio.spoken_digits --out DIR [--per-digit 300] [--seed 1234]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ganforge.platform.errors import DataError
from ganforge.platform.home import ganforge_home

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
VARIANTS = (
    *(f"m{i}" for i in range(1, 8)),
    *(f"f{i}" for i in range(1, 6)),
    "klatt",
    "klatt2",
    "klatt3",
    "croak",
    "Andy",
    "Annie",
    "Denis",
    "Gene",
    "Lee",
    "Linda",
    "Michael",
    "Steph",
    "Zac",
)
FORMAT_VERSION = 2  # bump when the synthesis recipe changes: it is part of the cache key
_DONE = "manifest.json"


def espeak_binary() -> str:
    """The espeak-ng executable, or a DataError saying how to install it."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise DataError(
            "dataset 'spoken_digits' needs espeak-ng (apt-get install espeak-ng), "
            "or use data.dataset=folder with your own recordings"
        )
    return found


def utterance_plan(per_digit: int, seed: int, speed_range: tuple[int, int]) -> list[dict]:
    """The voice settings of every utterance, drawn from `seed` (digit-major order)."""
    rng = np.random.default_rng(seed)
    plan = []
    for label, word in enumerate(DIGITS):
        for index in range(per_digit):
            plan.append(
                {
                    "label": label,
                    "word": word,
                    "file": f"{word}/{word}_{index:05d}.wav",
                    "voice": f"{rng.choice(ACCENTS)}+{rng.choice(VARIANTS)}",
                    "pitch": int(rng.integers(20, 81)),
                    "speed": int(rng.integers(speed_range[0], speed_range[1] + 1)),
                    "amplitude": int(rng.integers(60, 161)),
                }
            )
    return plan


def _synthesise(binary: str, root: Path, item: dict) -> None:
    path = root / item["file"]
    command = [binary, "-v", item["voice"], "-p", str(item["pitch"]), "-s", str(item["speed"])]
    command += ["-a", str(item["amplitude"]), "-w", str(path), item["word"]]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    # espeak-ng exits 0 even on a bad option: the file is the only proof of success.
    if done.returncode != 0 or not path.is_file() or path.stat().st_size <= 44:
        raise DataError(
            f"espeak-ng could not synthesise {item['word']!r} with {' '.join(command[1:-3])}: "
            f"{done.stderr.strip()}"
        )


def build(
    out: Path,
    per_digit: int = 300,
    seed: int = 1234,
    speed_range: tuple[int, int] = (140, 240),
    replace: bool = True,
) -> Path:
    """Synthesises the set into `out` (digit sub-folders of WAVs plus manifest.json); returns `out`.

    The files are written to a temporary sibling folder and renamed at the end, so an
    interrupted build never leaves a half-filled set that looks complete. `replace=False`
    keeps a complete set already at `out` (workers building the same cached set at once).
    """
    binary = espeak_binary()
    plan = utterance_plan(per_digit, seed, speed_range)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent))
    try:
        for word in DIGITS:
            (staging / word).mkdir()
        # espeak-ng is a short-lived process per utterance; threads only wait on it.
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            list(pool.map(lambda item: _synthesise(binary, staging, item), plan))
        manifest = {"digits": DIGITS, "per_digit": per_digit, "seed": seed, "speed_range": speed_range}
        (staging / _DONE).write_text(json.dumps({**manifest, "utterances": plan}, indent=1))
        if out.exists() and (replace or not (out / _DONE).is_file()):
            shutil.rmtree(out)
        try:
            staging.rename(out)
        except OSError:
            # Another worker finished the same set first: theirs is identical, keep it.
            if not (out / _DONE).is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def cached_set(per_digit: int, seed: int, speed_range: tuple[int, int]) -> Path:
    """The set for these parameters under GANFORGE_HOME/cache/audio, built on first use."""
    key = json.dumps([FORMAT_VERSION, per_digit, seed, list(speed_range)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    folder = ganforge_home() / "cache" / "audio" / f"spoken_digits-{per_digit}x10-{digest}"
    if not (folder / _DONE).is_file():
        build(folder, per_digit, seed, speed_range, replace=False)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description="Synthesise the spoken-digit set with espeak-ng.")
    parser.add_argument("--out", type=Path, required=True, help="folder to create (replaced if present)")
    parser.add_argument("--per-digit", type=int, default=300, help="utterances per digit")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--speed", type=int, nargs=2, default=(140, 240), metavar=("LOW", "HIGH"))
    args = parser.parse_args()
    out = build(args.out, args.per_digit, args.seed, tuple(args.speed))
    print(f"{args.per_digit * len(DIGITS)} utterances in {out}")


if __name__ == "__main__":
    main()
