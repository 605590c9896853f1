"""Which detail makes ganforge's DCGAN collapse on shapes where the PyTorch example does not (issue 15)?

python benchmarks/dcgan_collapse.py --steps 4000 --seed 0 --name NAME [--loop example|platform]
    [--loss bce|softplus] [--fresh-z] [--nets ganforge|example] [--no-bias fc,g_out,d_first,d_head]

One run, one torch thread, no ADA, latent 100, width 32 (the example's settings): ganforge's shapes
data through its data code, G and D from ganforge's image modality (or the example's own nets), and
one of two loops. `example`: the example's loop (D on a real batch from a shuffled DataLoader and on
G(z), then G on the same fakes; `--loss bce` is its Sigmoid + BCELoss, `--fresh-z` draws new latents
for G's step). `platform`: ganforge's AdversarialObjective, the step the training loop runs (the
non-saturating loss as softplus, fresh latents for G). `--no-bias` drops biases the example's nets do
not have. Prints D's mean logit on reals and fakes every 250 steps, then scores 2,000 samples (G in
train mode, batches of 64, as the example samples) with the metric model the side-by-side harness
uses, and writes the score and trace to --out as NAME.json. Runs are meant to go in pairs, one core
each (OMP_NUM_THREADS=1). Scratch-level: it answers one question, the harness is image_vs_reference.py.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from reference_dcgan import Discriminator, Generator, outputs_in_train_mode, weights_init
from side_by_side import prepare_entry, score
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ganforge.platform.gan.losses import discriminator_loss, generator_loss
from ganforge.platform.gan.objective import GanNets
from ganforge.platform.modality import get_modality
from ganforge.platform.runners.loop import build_objective

CONFIG = "configs/image/shapes_dcgan.yaml"
OVERRIDES = ["model.latent_dim=100", "gan.ada.enabled=false"]  # the example's latent size, no ADA
BATCH = 64


class FlatLatents(nn.Module):
    """The example's G fed ganforge's flat latents."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


def example_nets(nz: int) -> tuple[nn.Module, nn.Module]:
    """The example's G and D at width 32, D returning logits (the loss applies the Sigmoid)."""
    g, d = Generator(32, 3, 32, nz), Discriminator(32, 3, 32)
    g.apply(weights_init)
    d.apply(weights_init)
    d.main = d.main[:-1]
    return FlatLatents(g), d


def drop_biases(g: nn.Module, d: nn.Module, names: list[str]) -> None:
    layers = {
        "fc": (g, "fc"),
        "g_out": (g, "out"),
        "d_first": (d.features, "0"),
        "d_head": (d.head, "linear"),
    }
    for name in names:
        owner, attr = layers[name]
        getattr(owner, attr).bias = None


def d_losses(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "bce":
        return F.binary_cross_entropy(torch.sigmoid(real), torch.ones_like(real)) + F.binary_cross_entropy(
            torch.sigmoid(fake), torch.zeros_like(fake)
        )
    return discriminator_loss("non_saturating", real, fake)  # the platform's softplus form


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "bce":
        return F.binary_cross_entropy(torch.sigmoid(fake), torch.ones_like(fake))
    return generator_loss("non_saturating", fake)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", required=True)
    parser.add_argument("--loop", choices=["example", "platform"], default="example")
    parser.add_argument("--loss", choices=["bce", "softplus"], default="bce")
    parser.add_argument("--fresh-z", action="store_true")
    parser.add_argument("--nets", choices=["ganforge", "example"], default="ganforge")
    parser.add_argument("--no-bias", default="", help="comma list of fc, g_out, d_first, d_head")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "dcgan-collapse")
    args = parser.parse_args()
    torch.set_num_threads(1)
    entry = prepare_entry(CONFIG, OVERRIDES)
    job, data, nz = entry.job, entry.data, entry.job.model.latent_dim
    modality = get_modality("image")
    torch.manual_seed(args.seed)
    if args.nets == "example":
        g, d = example_nets(nz)
    else:
        g, d = modality.build_generator(job.model, data), modality.build_discriminator(job.model, data)
        drop_biases(g, d, [n for n in args.no_bias.split(",") if n])
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    objective = (
        build_objective(job, GanNets(g, d, g, d), torch.device("cpu")) if args.loop == "platform" else None
    )
    loader = DataLoader(TensorDataset(data.dataset.tensors[0]), batch_size=BATCH, shuffle=True)  # type: ignore[attr-defined]
    latents = torch.Generator().manual_seed(args.seed + 1)
    trace, start, step = [], time.perf_counter(), 0
    while step < args.steps:
        for (real,) in loader:
            z = torch.randn(len(real), nz, generator=latents)
            if objective is not None:
                stats = objective.discriminator_step(real, z, step)
                objective.generator_step(torch.randn(len(real), nz, generator=latents), real)
                d_real, d_fake = float(stats["d_real"]), float(stats["d_fake"])
            else:
                opt_d.zero_grad()
                fake = g(z)
                out_real, out_fake = d(real), d(fake.detach())
                d_losses(args.loss, out_real, out_fake).backward()
                opt_d.step()
                opt_g.zero_grad()
                if args.fresh_z:
                    fake = g(torch.randn(len(real), nz, generator=latents))
                g_loss(args.loss, d(fake)).backward()
                opt_g.step()
                d_real, d_fake = out_real.mean().item(), out_fake.mean().item()
            if step % 250 == 0 or step == args.steps - 1:
                trace.append((step, round(d_real, 2), round(d_fake, 2)))
                print(args.name, step, f"D(real) {d_real:+.2f} D(fake) {d_fake:+.2f}", flush=True)
            step += 1
            if step == args.steps:
                break
    seconds = time.perf_counter() - start
    z = torch.randn(2000, nz, generator=torch.Generator().manual_seed(1000 + args.seed))
    with torch.no_grad():
        fakes = torch.cat(outputs_in_train_mode(g, z))
    row = score(entry, fakes, {"steps": args.steps, "seconds": seconds})
    print(args.name, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(
        json.dumps({"args": vars(args) | {"out": str(args.out)}, "trace": trace, "score": row})
    )


if __name__ == "__main__":
    main()
