"""The PyTorch examples DCGAN as a plain script: the bar every ganforge image recipe must beat.

Source: github.com/pytorch/examples, dcgan/main.py. Kept as the original has it:
- weights N(0, 0.02) for every conv, BatchNorm weight N(1, 0.02) and bias 0 (`weights_init`);
- G: ConvTranspose(nz -> ., 4, 1, 0) to 4x4, then ConvTranspose(4, 2, 1) blocks, each with
  BatchNorm + ReLU, halving the width; a last ConvTranspose to the image channels and Tanh;
  no conv has a bias;
- D: Conv(4, 2, 1) + LeakyReLU(0.2), BatchNorm from the second layer on, doubling the width; a
  last Conv(4, 1, 0) from 4x4 to one logit and Sigmoid; BCELoss;
- Adam lr 2e-4, betas (0.5, 0.999) for both nets; nz 100; batches of 64 drawn by a shuffling
  DataLoader (the last, smaller batch of an epoch included); real label 1, fake 0;
- per batch one D step (a real batch and a fake batch, gradients summed), then one G step on the
  same fakes against label 1 (the non-saturating loss);
- samples drawn as the example draws them: G stays in train mode (BatchNorm batch statistics) and
  each batch holds 64 latents.

Adapted (and nothing else):
- the number of stride-2 layers follows the image size: log2(size / 4), i.e. 2 at 16x16, 3 at
  32x32 (the original: 4 at 64x64). The widest layers go, so G's last hidden layer keeps `ngf`
  channels and D's first keeps `ndf`;
- width: `--width` sets ngf = ndf. Default 32, sized for one CPU core per side: the published 64
  costs 2x the time per step at 16x16 and 3.3x at 32x32 (one core: 0.019 vs 0.037 s, 0.066 vs
  0.216 s), so it gets half to a third of the steps in the same budget;
- image channels from the data (1 for the grey digits, 3 for the shapes);
- data: the data section of a ganforge job config, read through ganforge's own data code, so the
  reference trains on the very tensors ganforge trains on (the run records their fingerprint);
- DataLoader without worker processes (one core each side); training stops at a wall-clock
  budget (checked after every batch) instead of after `niter` epochs; no checkpoints or per-epoch
  sample files (the harness scores and draws the final G);
- `--bf16` (off by default, as published): forward passes under torch.autocast(bfloat16), as
  ganforge's `gan.precision: bf16`; the harness turns it on when ganforge's job trains in bf16.
  D's final Sigmoid stays fp32: in bf16 it saturates at a logit of 6.2 (probability 1.0
  exactly), and with it the example collapsed to one tile in 10 minutes on shapes (seed 0).

python benchmarks/reference_dcgan.py --config configs/image/digits_dcgan.yaml --seed 0 \
    --minutes 10 --out /tmp/reference [--width 32] [--device cuda] [--bf16] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import math
import random
import time

import torch
from common import forward_precision, reference_data, reference_parser, save_reference
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


NZ = 100
BATCH_SIZE = 64
LR = 2e-4
BETA1 = 0.5
REAL_LABEL = 1.0
FAKE_LABEL = 0.0
DEFAULT_WIDTH = 32
LOG_EVERY = 200


def weights_init(m: nn.Module) -> None:
    """The example's custom init, called on netG and netD."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def stride2_layers(size: int) -> int:
    """How many 2x up/down-sampling layers join 4x4 and size x size (4 for the original 64x64)."""
    layers = round(math.log2(size / 4))
    if layers < 1 or 4 * 2**layers != size:
        raise ValueError(f"image size {size}: expected 4 x a power of two, at least 8")
    return layers


class Generator(nn.Module):
    def __init__(self, size: int, nc: int, ngf: int, nz: int = NZ) -> None:
        super().__init__()
        n = stride2_layers(size)
        widths = [ngf * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 32x32: ngf*4, ngf*2, ngf
        # input is Z, going into a convolution; state size. widths[0] x 4 x 4
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for a, b in zip(widths, widths[1:], strict=False):  # each doubles the side, halves the width
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        # state size. ngf x size/2 x size/2 -> nc x size x size
        layers += [nn.ConvTranspose2d(widths[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, size: int, nc: int, ndf: int) -> None:
        super().__init__()
        n = stride2_layers(size)
        widths = [ndf * 2**i for i in range(n)]  # e.g. 32x32: ndf, ndf*2, ndf*4
        # input is nc x size x size; no BatchNorm on the first layer
        layers: list[nn.Module] = [
            nn.Conv2d(nc, widths[0], 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for a, b in zip(widths, widths[1:], strict=False):
            layers += [
                nn.Conv2d(a, b, 4, 2, 1, bias=False),
                nn.BatchNorm2d(b),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        # state size. widths[-1] x 4 x 4 -> one probability
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The Sigmoid in fp32 (a no-op outside autocast): in bf16 every logit above 6.2 gives a
        # probability of exactly 1, where BCELoss's gradient for a fake, 1 / (1 - p), blows up.
        logits = self.main[:-1](x).float()
        return self.main[-1](logits).view(-1, 1).squeeze(1)


def train(
    x: torch.Tensor,
    seconds: float,
    seed: int,
    width: int = DEFAULT_WIDTH,
    start: float | None = None,
    device: str = "cpu",
    bf16: bool = False,
) -> tuple[Generator, dict[str, float]]:
    """The example's training loop on images `x` (NCHW in [-1, 1]) until `seconds` have passed
    since `start` (default: now), on `device` (the example's `--cuda`), its forward passes under
    bf16 autocast if `bf16`; returns G (on the CPU) and what the run did."""
    start = time.perf_counter() if start is None else start
    random.seed(seed)
    torch.manual_seed(seed)
    size, nc = x.shape[-1], x.shape[1]
    dataloader = DataLoader(TensorDataset(x), batch_size=BATCH_SIZE, shuffle=True)
    netG, netD = Generator(size, nc, width).to(device), Discriminator(size, nc, width).to(device)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=LR, betas=(BETA1, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=LR, betas=(BETA1, 0.999))
    deadline, steps, epoch = start + seconds, 0, 0
    stats: dict[str, float] = {}
    while time.perf_counter() < deadline:
        for (real_cpu,) in dataloader:
            real = real_cpu.to(device)
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            batch_size = real.size(0)
            label = torch.full((batch_size,), REAL_LABEL, dtype=real.dtype, device=device)
            with forward_precision(bf16, device):  # BCELoss stays outside: CUDA autocast refuses it;
                # D returns fp32 probabilities (its Sigmoid runs in fp32)
                output = netD(real)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            noise = torch.randn(batch_size, NZ, 1, 1, device=device)
            with forward_precision(bf16, device):
                fake = netG(noise)
                output = netD(fake.detach())
            label.fill_(FAKE_LABEL)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()
            # (2) Update G network: maximize log(D(G(z))); fake labels are real for generator cost
            netG.zero_grad()
            label.fill_(REAL_LABEL)
            with forward_precision(bf16, device):
                output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()
            steps += 1
            stats = {
                "loss_d": errD.item(),
                "loss_g": errG.item(),
                "d_x": D_x,
                "d_g_z1": D_G_z1,
                "d_g_z2": D_G_z2,
            }
            if steps % LOG_EVERY == 0:
                print(f"[{epoch}][{steps}] " + " ".join(f"{k} {v:.4f}" for k, v in stats.items()), flush=True)
            if time.perf_counter() >= deadline:
                break
        epoch += 1
    return netG.cpu(), {"steps": steps, "seconds": time.perf_counter() - start, "epochs": epoch, **stats}


@torch.no_grad()
def sample(netG: Generator, n: int, seed: int) -> torch.Tensor:
    """`n` images drawn the way the example draws its sample grids: G in train mode (BatchNorm on
    the statistics of each batch of 64 latents). Running statistics are left as they were."""
    z = torch.randn(n, NZ, 1, 1, generator=torch.Generator().manual_seed(seed))
    return torch.cat(outputs_in_train_mode(netG, z))


def outputs_in_train_mode(net: nn.Module, z: torch.Tensor) -> list:
    """`net`'s outputs on batches of BATCH_SIZE latents in train mode (BatchNorm on each batch's own
    statistics); its buffers (the running statistics) are restored afterwards."""
    buffers = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()
    outputs = [net(chunk) for chunk in z.split(BATCH_SIZE)]
    net.load_state_dict(buffers)
    return outputs


def main() -> None:
    parser = reference_parser(__doc__ or "", "image")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="ngf = ndf (published: 64)")
    args = parser.parse_args()
    data, x, start = reference_data(args, "image")
    netG, stats = train(x, args.minutes * 60, args.seed, args.width, start, args.device, args.bf16)
    run = {**stats, "width": args.width, "device": args.device, "bf16": args.bf16}
    save_reference(args.out, netG, data, run)


if __name__ == "__main__":
    main()
