"""The GPU checks of issues 15 and 16, as one script for a lent GPU machine.

python benchmarks/gpu_check.py --out DIR [--audio-minutes 2] [--pace-minutes 0.75]
    [--image-minutes 1] [--precision bf16] [--skip audio|image] [--smoke]

1. Audio (issue 16): configs/audio/wavegan_sc09.yaml, the published WaveGAN (16 kHz, 16,384
   samples, d 64, WGAN-GP, batch 64), trained by the platform's loop (ganforge_timed.py) on the
   GPU: `--precision` (bf16) with 1 worker for `--audio-minutes` (its generator is scored: classifier
   IS, IS ratio, FID, which digits come out), then that precision with 2 workers and the other
   (fp32) with 1 worker for `--pace-minutes` each, for their pace (G steps/s; 2 workers on one
   GPU share it, so their figure is the cost of data parallelism there, not a speed-up). The data
   is the built-in set at 100 utterances per digit (`data.per_digit=100`): the GPU machine has no
   espeak-ng, so the set is carried there from GANFORGE_HOME's cache.
2. Image (issue 15): image_vs_reference.py on digits and shapes at the published DCGAN width 64
   (both sides: the reference's ngf = ndf, ganforge's g_channels = d_channels), ganforge with 2
   data-parallel workers, 3 seeds, all pairs at once on the GPU, `--image-minutes` each.

Everything lands in DIR: results.md (both sections, to paste into RESULTS.md), results.json, and
samples.tar (grids and spectrogram strips). A step that fails is reported and the next one runs.

The GPU machine has no package index, and no mlflow, boto3 or Ray. Tracking is off in every run
and nothing here reaches a tracking store or S3, but ganforge's metric store imports mlflow and
boto3: each missing one gets a stand-in package that raises on use (`_stand_ins`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AUDIO_CONFIG = "configs/audio/wavegan_sc09.yaml"
AUDIO_SET = ["data.per_digit=100"]
SMOKE = {"audio_minutes": 0.2, "pace_minutes": 0.1, "image_minutes": 0.15, "seeds": 1}
SMOKE_AUDIO = ["model.model_dim=4"]  # d 64 at 16 kHz takes half a minute per G step on a CPU
WIDTH = 64
ABSENT_THERE = ("mlflow", "boto3", "botocore", "ray")
"""What ganforge imports that the GPU machine lacks and that no run here uses (tracking is off)."""
STAND_IN = '''"""A stand-in for a package a machine lacks (benchmarks/gpu_check.py): importing works,
using what it holds raises."""
import importlib.abc
import importlib
import sys


class _Absent:
    """Can be made (module-level settings objects are); anything done with it raises."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        raise RuntimeError(f"{__name__.split('.')[0]} is not installed on this machine")

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{__name__.split('.')[0]} is not installed on this machine")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Absent


class _Submodules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.startswith(__name__ + "."):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__getattr__ = __getattr__
        module.__path__ = []


sys.meta_path.insert(0, _Submodules())
'''


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _stand_ins() -> None:
    """Puts a stand-in for each of ABSENT_THERE this machine lacks on this process's and its
    children's path."""
    missing = [name for name in ABSENT_THERE if not _importable(name)]
    if not missing:
        return
    folder = Path(tempfile.mkdtemp(prefix="stand-ins-"))
    for name in missing:
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text(STAND_IN)
    sys.path.insert(0, str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    print(f"missing here, stood in for (tracking is off): {', '.join(missing)}", flush=True)


def _timed(
    args: argparse.Namespace, overrides: list[str], minutes: float, workers: int, out: Path
) -> dict[str, Any]:
    """One ganforge_timed.py run of the audio config on the device; its run.json."""
    sets = [arg for item in overrides for arg in ("--set", item)]
    command = [
        sys.executable, str(HERE / "ganforge_timed.py"), "--config", AUDIO_CONFIG, "--minutes", str(minutes),
        "--device", args.device, "--workers", str(workers), "--threads", "2", "--check-every", "20",
        "--out", str(out), *sets,
    ]  # fmt: skip
    print("$ " + " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    run = json.loads((out / "run.json").read_text())
    run["steps_per_s"] = run["steps"] / run["seconds"]  # start-up (data, CUDA) included
    run["steps_per_s_last"] = 1 / run["s_per_step_last"]
    return run


def audio_check(args: argparse.Namespace, tmp: Path, samples: Path) -> dict[str, Any]:
    import torch
    from audio_vs_reference import heard_counts, heard_table, write_strip
    from side_by_side import LATENT_SEED, class_probs, ganforge_generators, prepare_entry, score

    from ganforge.platform.modality import get_modality

    audio_set = AUDIO_SET + (SMOKE_AUDIO if args.smoke else [])
    entry = prepare_entry(AUDIO_CONFIG, audio_set, "audio")
    main_run, other = f"{args.precision}, 1 worker", "fp32" if args.precision == "bf16" else "bf16"
    main_set, other_set = (
        [*audio_set, f"gan.precision={args.precision}"],
        [*audio_set, f"gan.precision={other}"],
    )
    runs = {
        main_run: _timed(args, main_set, args.audio_minutes, 1, tmp / "a1"),
        f"{args.precision}, 2 workers": _timed(args, main_set, args.pace_minutes, 2, tmp / "a2"),
        f"{other}, 1 worker": _timed(args, other_set, args.pace_minutes, 1, tmp / "a3"),
    }
    net = ganforge_generators(entry, tmp / "a1")["ganforge"].to(args.device)
    n = len(entry.half_a)
    z = get_modality("audio").output_latents(
        entry.job.model, entry.data.info, n, torch.Generator().manual_seed(LATENT_SEED)
    )
    with torch.no_grad():  # on the GPU: 16,384-sample clips at d 64 are slow to draw on a CPU
        fakes = torch.cat([net(chunk.to(args.device)).float().cpu() for chunk in z.split(100)])
    probs = class_probs(entry, fakes)
    scored = score(entry, fakes, runs[main_run], probs)
    write_strip(entry, fakes, probs, samples / f"audio_wavegan_sc09_{args.precision}.png")
    heard = heard_table(f"ganforge, {main_run}", heard_counts(probs), entry.data.info["class_names"])
    return {"runs": runs, "main": main_run, "score": scored, "heard": heard}


def audio_section(result: dict[str, Any], args: argparse.Namespace) -> str:
    runs, s = result["runs"], result["score"]
    main_run = result["main"]
    base = runs[main_run]["steps_per_s_last"]
    lines = [
        f"| run | G steps | seconds | G steps/s, whole run | G steps/s, last 20 steps | vs {main_run} |",
        "|---|---|---|---|---|---|",
        *(
            f"| {name} | {r['steps']} | {r['seconds']:.0f} | {r['steps_per_s']:.2f} | "
            f"{r['steps_per_s_last']:.2f} | {r['steps_per_s_last'] / base:.2f} |"
            for name, r in runs.items()
        ),
    ]
    quality = (
        f"After {args.audio_minutes:g} min ({main_run}, {runs[main_run]['steps']} G steps): "
        "classifier IS "
        f"{s['inception_score']:.2f} against real half A's {s['inception_score_real']:.2f}, "
        f"**IS ratio {s['is_ratio']:.3f}** (anchors: WaveGAN 0.53, DiffWave 0.63 of the real score), FID "
        f"{s['fid']:.1f}, precision {s['precision']:.3f}, recall {s['recall']:.3f}, "
        f"{s['classes_third']:.0f} of 10 digits at a third of their share or more."
    )
    return "\n".join([*lines, "", quality, "", result["heard"]])


def image_check(args: argparse.Namespace, samples: Path) -> str:
    command = [
        sys.executable, str(HERE / "image_vs_reference.py"), "--device", args.device, "--workers", "2",
        "--seeds-together", "--seeds", str(args.seeds), "--minutes", str(args.image_minutes),
        "--width", str(WIDTH), "--set", f"model.g_channels={WIDTH}", "--set", f"model.d_channels={WIDTH}",
        "--samples-dir", str(samples),
    ]  # fmt: skip
    print("$ " + " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    return _section(ROOT / "benchmarks" / "RESULTS.md", "Image vs the PyTorch DCGAN example")


def _section(results: Path, prefix: str) -> str:
    """The last `## prefix...` section of RESULTS.md (the one the harness just wrote)."""
    text = results.read_text()
    start = text.rindex(f"## {prefix}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--audio-minutes", type=float, default=2.0)
    parser.add_argument("--pace-minutes", type=float, default=0.75)
    parser.add_argument("--image-minutes", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=["audio", "image"])
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, 1 seed")
    parser.add_argument(
        "--precision", choices=["bf16", "fp32"], default="bf16", help="the scored audio run's"
    )
    parser.add_argument("--device", default="cuda", help="cuda; cpu only to try the script out")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    sys.path.insert(0, str(HERE))
    _stand_ins()
    args.out.mkdir(parents=True, exist_ok=True)
    samples = Path(tempfile.mkdtemp(prefix="gpu-check-samples-"))
    sections: dict[str, str] = {}
    results: dict[str, Any] = {}
    steps = {
        "audio": lambda tmp: audio_check(args, tmp, samples),
        "image": lambda tmp: image_check(args, samples),
    }
    for name, step in steps.items():
        if name in args.skip:
            continue
        started = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix=f"gpu-check-{name}-") as tmp:
                results[name] = step(Path(tmp))
        except Exception:  # one failing check must not cost the others their device time
            results[name] = {"error": traceback.format_exc()}
            print(f"{name} check failed:\n{results[name]['error']}", flush=True)
        print(f"{name} check: {time.perf_counter() - started:.0f} s", flush=True)
        if name == "audio" and "error" not in results[name]:
            sections[name] = audio_section(results[name], args)
        elif name == "image" and "error" not in results[name]:
            sections[name] = results[name]
        (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str))
        (args.out / "results.md").write_text("\n\n".join(sections.values()) + "\n")
    with tarfile.open(args.out / "samples.tar", "w") as tar:
        tar.add(samples, arcname="samples")
    print((args.out / "results.md").read_text(), flush=True)


if __name__ == "__main__":
    main()
