"""WaveGAN's published recipe as a plain script: the bar every ganforge audio recipe must beat.

Source: Donahue, McAuley & Puckette, "Adversarial Audio Synthesis", ICLR 2019;
github.com/chrisdonahue/wavegan (wavegan.py, train_wavegan.py with `--wavegan_loss wgan-gp`, the
setting the paper trains SC09 with), cross-checked with its PyTorch ports. Kept as the original has it:
- G: z (100 values, uniform(-1, 1)) -> dense -> 16 steps x 16d channels (at 16,384 samples) -> ReLU;
  transposed convolutions, kernel 25, stride 4, 'same' padding (each multiplies the length by 4
  exactly), halving the channels, each followed by ReLU; the last one to a single channel and tanh;
- D: convolutions, kernel 25, stride 4, 'same' padding, channels d, 2d, 4d, ..., each followed by
  LeakyReLU(0.2) and then phase shuffle of radius 2 (`apply_phaseshuffle`: one shift per batch and
  layer, drawn anew at every call of D, the edge filled by reflection) except after the last, whose
  output is flattened into the dense layer that gives the one logit;
- no BatchNorm anywhere (`use_batchnorm` off), no post-processing filter (`wavegan_genr_pp` off);
- weights Glorot-uniform, biases zero (TensorFlow's layer defaults, which the original relies on);
- WGAN-GP: D loss = mean D(G(z)) - mean D(x) + 10 mean (||grad D(x_hat)||_2 - 1)^2, where
  x_hat = x + alpha (G(z) - x) with one alpha ~ U(0, 1) per example; G loss = -mean D(G(z));
- 5 D updates per G update, each on a new real batch and new latents; the G update on new latents;
- Adam lr 1e-4, betas (0.5, 0.9) for both nets;
- the data stream of the original's loader: shuffled every epoch, repeated without end, batches
  running across the epoch boundaries (`repeat()` before `batch(drop_remainder=True)`).

Adapted (and nothing else):
- length: the window of the data (wavegan_cpu: 4,096 samples at 8 kHz, the original 16,384 at
  16 kHz). The number of layers follows it, 16 steps x 4^L = window: L = 4 at 4,096, 5 at 16,384.
  The widest layers go, so G's last hidden layer keeps d channels and D's first keeps d, as in the
  original (G: 8d, 4d, 2d, d at 4,096). A window that is an odd power of two (2,048, 8,192) gets one
  stride-2 layer, the last in G and the last in D, where the original's 32,768-sample model puts it;
  phase shuffle follows the 16,384-sample model, after every D layer but the last;
- width and batch: d = 8 and batch 32 (published: 64 and 64), the CPU size of
  configs/audio/wavegan_cpu.yaml; the harness passes the job's model_dim and batch size;
- data: the data section of a ganforge job config, read through ganforge's own data code, so the
  reference trains on the very tensors ganforge trains on (the run records their fingerprint);
- training stops at a wall-clock budget (checked after every G step) instead of running until it is
  stopped; no checkpoints, summaries or previews (the harness scores and draws the final G);
- `--bf16` (off by default, as published): losses under torch.autocast(bfloat16), as ganforge's
  `gan.precision: bf16`; the harness turns it on when ganforge's job trains in bf16.

python benchmarks/reference_wavegan.py --config configs/audio/wavegan_cpu.yaml --seed 0 \
    --minutes 10 --out /tmp/reference [--dim 8] [--batch-size 32] [--bf16] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import torch
from common import forward_precision, reference_data, reference_parser, save_reference
import torch.nn.functional as F  # noqa: N812
from torch import nn


NZ = 100
KERNEL = 25
START_STEPS = 16  # the dense layer's output length, at every window length
PHASE_SHUFFLE = 2
LAMBDA = 10.0
N_CRITIC = 5
LR = 1e-4
BETAS = (0.5, 0.9)
DEFAULT_DIM = 8
DEFAULT_BATCH = 32
LOG_EVERY = 100
SAMPLE_CHUNK = 500


def layer_strides(window: int) -> list[int]:
    """Strides of the layers between 16 steps and `window` samples: 4s, and a 2 last for an odd power."""
    doublings = math.log2(window / START_STEPS)
    if doublings < 2 or doublings != int(doublings):
        raise ValueError(f"window {window}: expected 16 x a power of two, at least 64")
    n = int(doublings)
    return [4] * (n // 2) + [2] * (n % 2)


def glorot_init(m: nn.Module) -> None:
    """TensorFlow's defaults for dense and conv layers: Glorot-uniform kernels, zero biases.
    (Both count a transposed conv's fans as out x kernel and in x kernel: the same bound.)"""
    if isinstance(m, nn.Linear | nn.Conv1d | nn.ConvTranspose1d):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


def upconv(c_in: int, c_out: int, stride: int) -> nn.ConvTranspose1d:
    """'same' transposed convolution: output length = input length x stride."""
    output_padding = (KERNEL - stride) % 2
    padding = (KERNEL - stride + output_padding) // 2
    return nn.ConvTranspose1d(c_in, c_out, KERNEL, stride, padding, output_padding)


def downconv(c_in: int, c_out: int, stride: int) -> nn.Conv1d:
    """'same' strided convolution: output length = input length / stride."""
    return nn.Conv1d(c_in, c_out, KERNEL, stride, padding=(KERNEL - stride + 1) // 2)


def phase_shuffle(x: torch.Tensor, rad: int) -> torch.Tensor:
    """`apply_phaseshuffle`: the batch shifted by one phase in -rad..rad, the gap filled by reflection."""
    phase = int(torch.randint(-rad, rad + 1, ()))
    if phase == 0:
        return x
    pad_l, pad_r = max(phase, 0), max(-phase, 0)
    return F.pad(x, (pad_l, pad_r), mode="reflect")[..., pad_r : pad_r + x.shape[-1]]


class Generator(nn.Module):
    """z (B, 100) -> audio (B, 1, window) in [-1, 1]."""

    def __init__(self, window: int, d: int, nz: int = NZ) -> None:
        super().__init__()
        strides = layer_strides(window)
        layers = len(strides)
        widths = [d * 2 ** (layers - 1 - i) for i in range(layers)] + [1]  # 4,096: 8d, 4d, 2d, d, 1
        self.start_channels = widths[0]
        self.z_project = nn.Linear(nz, START_STEPS * widths[0])
        self.upconvs = nn.ModuleList(
            upconv(a, b, s) for a, b, s in zip(widths[:-1], widths[1:], strides, strict=True)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.z_project(z).view(len(z), self.start_channels, START_STEPS))
        last = len(self.upconvs) - 1
        for i, layer in enumerate(self.upconvs):
            x = layer(x)
            x = torch.tanh(x) if i == last else F.relu(x)
        return x


class Discriminator(nn.Module):
    """audio (B, 1, window) -> one critic value per clip."""

    def __init__(self, window: int, d: int, shuffle: int = PHASE_SHUFFLE) -> None:
        super().__init__()
        strides = layer_strides(window)  # same order as G's: the stride-2 layer is last in D too
        widths = [1] + [d * 2**i for i in range(len(strides))]  # 4,096: 1, d, 2d, 4d, 8d
        self.shuffle = shuffle
        self.downconvs = nn.ModuleList(
            downconv(a, b, s) for a, b, s in zip(widths[:-1], widths[1:], strides, strict=True)
        )
        self.output = nn.Linear(START_STEPS * widths[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.downconvs) - 1
        for i, layer in enumerate(self.downconvs):
            x = F.leaky_relu(layer(x), 0.2)
            if i < last:
                x = phase_shuffle(x, self.shuffle)
        return self.output(x.flatten(1)).squeeze(1)


def latents(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    return torch.rand(n, NZ, generator=generator) * 2 - 1


def batches(x: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    """The loader's stream: each epoch shuffled, repeated without end, batches across epochs."""
    order = torch.empty(0, dtype=torch.long)
    while True:
        while len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(x))])
        pick, order = order[:batch_size], order[batch_size:]
        yield x[pick]


def critic_step(
    netG: Generator,
    netD: Discriminator,
    opt: torch.optim.Optimizer,
    real: torch.Tensor,
    bf16: bool = False,
) -> dict[str, torch.Tensor]:
    """One WGAN-GP update of D; returns its loss terms (tensors, read only when logged)."""
    with forward_precision(bf16, "cpu"):
        with torch.no_grad():  # only D's weights learn here (the original's var_list=D_vars)
            fake = netG(latents(len(real)))
        d_real, d_fake = netD(real).mean(), netD(fake).mean()  # separate calls: own phase shuffles
        alpha = torch.rand(len(real), 1, 1)
        interpolates = (real + alpha * (fake - real)).requires_grad_(True)
        (gradients,) = torch.autograd.grad(netD(interpolates).sum(), interpolates, create_graph=True)
        slopes = gradients.float().flatten(1).norm(2, dim=1)
        penalty = ((slopes - 1.0) ** 2).mean()
        loss = d_fake.float() - d_real.float() + LAMBDA * penalty
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss_d": loss.detach(), "wasserstein": (d_real - d_fake).detach(), "gp": penalty.detach()}


def generator_step(
    netG: Generator,
    netD: Discriminator,
    opt: torch.optim.Optimizer,
    batch: int,
    bf16: bool = False,
) -> torch.Tensor:
    """One update of G on new latents; D's weights get no gradients (var_list=G_vars), which also
    saves their computation."""
    netD.requires_grad_(False)
    with forward_precision(bf16, "cpu"):
        loss = -netD(netG(latents(batch))).float().mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    netD.requires_grad_(True)
    return loss.detach()


def train(
    x: torch.Tensor,
    seconds: float,
    seed: int,
    dim: int = DEFAULT_DIM,
    batch_size: int = DEFAULT_BATCH,
    start: float | None = None,
    bf16: bool = False,
) -> tuple[Generator, dict[str, float]]:
    """The recipe on clips `x` (N, 1, window) in [-1, 1] until `seconds` have passed since `start`
    (default: now), its losses under bf16 autocast if `bf16`; returns G and what the run did."""
    start = time.perf_counter() if start is None else start
    torch.manual_seed(seed)
    window = x.shape[-1]
    netG, netD = Generator(window, dim), Discriminator(window, dim)
    netG.apply(glorot_init)
    netD.apply(glorot_init)
    optG = torch.optim.Adam(netG.parameters(), lr=LR, betas=BETAS)
    optD = torch.optim.Adam(netD.parameters(), lr=LR, betas=BETAS)
    stream = batches(x, batch_size)
    deadline, steps = start + seconds, 0
    stats: dict[str, torch.Tensor] = {}
    while time.perf_counter() < deadline:
        for _ in range(N_CRITIC):
            stats = critic_step(netG, netD, optD, next(stream), bf16)
        stats["loss_g"] = generator_step(netG, netD, optG, batch_size, bf16)
        steps += 1
        if steps % LOG_EVERY == 0:
            print(f"[{steps}] " + " ".join(f"{k} {v.item():.4f}" for k, v in stats.items()), flush=True)
    seen = steps * N_CRITIC * batch_size
    return netG, {
        "steps": steps,
        "d_steps": steps * N_CRITIC,
        "seconds": time.perf_counter() - start,
        "epochs": seen / len(x),
        **{k: v.item() for k, v in stats.items()},
    }


@torch.no_grad()
def sample(netG: Generator, n: int, seed: int) -> torch.Tensor:
    """`n` clips from latents U(-1, 1) drawn from `seed` (the draw ganforge's audio latents make)."""
    netG.eval()
    z = latents(n, torch.Generator().manual_seed(seed))
    return torch.cat([netG(chunk) for chunk in z.split(SAMPLE_CHUNK)])


def main() -> None:
    parser = reference_parser(__doc__ or "", "audio")
    parser.add_argument("--dim", type=int, default=DEFAULT_DIM, help="model size d (published: 64)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="published: 64")
    args = parser.parse_args()
    if args.device != "cpu":
        parser.error("--device: this reference runs on the CPU only (its GPU path is not written)")
    data, x, start = reference_data(args, "audio")
    netG, stats = train(x, args.minutes * 60, args.seed, args.dim, args.batch_size, start, args.bf16)
    sizes = {
        "window": x.shape[-1],
        "sample_rate": data.info["sample_rate"],
        "dim": args.dim,
        "bf16": args.bf16,
    }
    save_reference(args.out, netG, data, {**stats, **sizes, "batch_size": args.batch_size})


if __name__ == "__main__":
    main()
