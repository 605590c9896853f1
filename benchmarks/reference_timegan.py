"""TimeGAN's official recipe as a plain PyTorch script: the bar ganforge's TimeGAN must beat.

Source: Yoon, Jarrett & van der Schaar, "Time-series Generative Adversarial Networks", NeurIPS 2019;
github.com/jsyoon0823/TimeGAN (`timegan.py`, `utils.py`, `main_timegan.py`, TensorFlow 1). Kept as
the original has it:
- five networks, each a stack of GRU cells (tanh) followed by a per-step dense layer:
  embedder E (X -> H, sigmoid), recovery R (H -> X, sigmoid), generator G (Z -> E_hat, sigmoid),
  supervisor S (one layer fewer, H -> H, sigmoid), discriminator D (H -> one logit per step);
  hidden 24, 3 layers, batch 128 (`main_timegan.py`'s defaults), z_dim = the feature count;
- weights as TensorFlow 1 creates them: Glorot-uniform dense kernels and GRU kernels (one matrix for
  the two gates, one for the candidate), zero biases except the GRU gates' (1.0);
- the losses: D = BCE(D(H), 1) + BCE(D(H_hat), 0) + gamma BCE(D(E_hat), 0); G = BCE(D(H_hat), 1)
  + gamma BCE(D(E_hat), 1) + 100 sqrt(S loss) + 100 V, V = mean |sd difference| + mean |mean
  difference| of X_hat and X over the batch (population variance, + 1e-6 under the root); S loss =
  MSE(H[:, 1:], S(H)[:, :-1]); E0 = 10 sqrt(MSE(X, R(E(X)))); E = E0 + 0.1 S loss; gamma = 1;
- one Adam (lr 1e-3, betas (0.9, 0.999), TensorFlow's defaults) per `minimize` of the original:
  E0 (E, R), E (E, R), D, G (G, S), GS (G, S): five optimizers with their own moments;
- the three phases of equal length N: embedding (E0 on E, R), supervised (GS on G, S: only S gets
  gradients), joint (per iteration twice: a new batch and new Z, a G update then an E update;
  then a new batch and Z for D, updated only while its loss on that batch exceeds 0.15);
- batches: 128 windows drawn without replacement, anew for every update (`batch_generator`);
  Z ~ U[0, 1) per step and feature (`random_generator`); data min-max scaled per feature
  (`MinMaxScaler`: ganforge's data code scales the same way, to [0, 1]).

Adapted (and nothing else):
- GRU: PyTorch's `nn.GRU` (its reset gate multiplies the candidate's recurrent product, cuDNN's
  variant; TF 1's GRUCell multiplies the state before the product): the same cell family at the
  same size, in the fast fused kernel a fair wall-clock comparison needs;
- length: the original runs N = 50,000 iterations per phase; here N is sized so three phases of
  N fit the wall budget (a few iterations of each phase are timed first on throw-away copies,
  inside the budget), and the joint phase then runs on until the budget is spent;
- data: the data section of a ganforge job config, read through ganforge's own data code, so the
  reference trains on the very tensors ganforge trains on (the run records their fingerprint);
- no renormalisation or per-series lengths (every window has the full length); the harness
  scores the final networks' windows in the scaled units, as ganforge's metrics do.

python benchmarks/reference_timegan.py --config configs/timeseries/sines_timegan.yaml --seed 0 \
    --minutes 10 --out /tmp/reference [--iterations N] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import copy
import math
import time

import torch
import torch.nn.functional as F  # noqa: N812
from common import reference_data, reference_parser, save_reference
from torch import nn

HIDDEN = 24
LAYERS = 3
BATCH = 128
GAMMA = 1.0
D_THRESHOLD = 0.15
G_ROUNDS = 2
PROBE = 6  # iterations of each phase timed on throw-away copies, to size the phases
LOG_EVERY = 200
SAMPLE_CHUNK = 1000
Tensor = torch.Tensor


def glorot_(w: Tensor) -> None:
    """TF's glorot_uniform on a kernel stored (out, in) as PyTorch stores it."""
    bound = math.sqrt(6.0 / (w.shape[0] + w.shape[1]))
    nn.init.uniform_(w, -bound, bound)


def tf_gru_init(gru: nn.GRU) -> None:
    """TF 1 GRUCell: one Glorot kernel [in + H, 2H] for the reset/update gates (bias 1.0), one
    [in + H, H] for the candidate (bias 0); PyTorch splits each kernel into its ih and hh parts."""
    h = gru.hidden_size
    for layer in range(gru.num_layers):
        w_ih, w_hh = getattr(gru, f"weight_ih_l{layer}"), getattr(gru, f"weight_hh_l{layer}")
        b_ih, b_hh = getattr(gru, f"bias_ih_l{layer}"), getattr(gru, f"bias_hh_l{layer}")
        with torch.no_grad():
            for rows, fan_out in ((slice(0, 2 * h), 2 * h), (slice(2 * h, 3 * h), h)):
                joint = torch.empty(fan_out, w_ih.shape[1] + h)
                glorot_(joint)
                w_ih[rows] = joint[:, : w_ih.shape[1]]
                w_hh[rows] = joint[:, w_ih.shape[1] :]
            b_ih.zero_()
            b_ih[: 2 * h] = 1.0
            b_hh.zero_()


class Rnn(nn.Module):
    """One of TimeGAN's networks: GRU stack, then a dense layer per step (sigmoid or none)."""

    def __init__(self, inputs: int, outputs: int, layers: int, sigmoid: bool = True) -> None:
        super().__init__()
        self.rnn = nn.GRU(inputs, HIDDEN, num_layers=layers, batch_first=True)
        self.dense = nn.Linear(HIDDEN, outputs)
        self.sigmoid = sigmoid
        tf_gru_init(self.rnn)
        glorot_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)

    def forward(self, x: Tensor) -> Tensor:
        out = self.dense(self.rnn(x)[0])
        return torch.sigmoid(out) if self.sigmoid else out


class TimeGan(nn.Module):
    """The five networks; `forward(z)` is the generation path R(S(G(Z)))."""

    def __init__(self, features: int, z_dim: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.embedder = Rnn(features, HIDDEN, LAYERS)
        self.recovery = Rnn(HIDDEN, features, LAYERS)
        self.generator = Rnn(z_dim, HIDDEN, LAYERS)
        self.supervisor = Rnn(HIDDEN, HIDDEN, LAYERS - 1)
        self.discriminator = Rnn(HIDDEN, 1, LAYERS, sigmoid=False)

    def forward(self, z: Tensor) -> Tensor:
        return self.recovery(self.supervisor(self.generator(z)))


def bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def supervised_loss(net: TimeGan, h: Tensor) -> Tensor:
    return F.mse_loss(net.supervisor(h)[:, :-1], h[:, 1:])


def moments(x_hat: Tensor, x: Tensor) -> Tensor:
    sd = lambda v: torch.sqrt(v.var(0, unbiased=False) + 1e-6)  # noqa: E731
    return (sd(x_hat) - sd(x)).abs().mean() + (x_hat.mean(0) - x.mean(0)).abs().mean()


class Recipe:
    """The networks, the five optimizers and one update per method, on windows `x` (N, T, D)."""

    def __init__(self, x: Tensor, z_dim: int | None = None) -> None:
        self.x = x
        self.net = TimeGan(x.shape[2], z_dim or x.shape[2])
        n = self.net
        er = [*n.embedder.parameters(), *n.recovery.parameters()]
        gs = [*n.generator.parameters(), *n.supervisor.parameters()]
        self.opt = {
            "e0": torch.optim.Adam(er),
            "e": torch.optim.Adam(er),
            "d": torch.optim.Adam(n.discriminator.parameters()),
            "g": torch.optim.Adam(gs),
            "gs": torch.optim.Adam(gs),
        }

    def batch(self) -> tuple[Tensor, Tensor]:
        x = self.x[torch.randperm(len(self.x))[:BATCH]]
        return x, torch.rand(len(x), x.shape[1], self.net.z_dim)

    def _step(self, name: str, loss: Tensor) -> None:
        self.opt[name].zero_grad(set_to_none=True)
        loss.backward()
        self.opt[name].step()

    def embedding(self) -> dict[str, Tensor]:
        x, _ = self.batch()
        recon = F.mse_loss(self.net.recovery(self.net.embedder(x)), x)
        self._step("e0", 10 * torch.sqrt(recon))
        return {"e_loss": recon.detach().sqrt()}

    def supervised(self) -> dict[str, Tensor]:
        x, _ = self.batch()
        with torch.no_grad():  # E is not in GS's var_list
            h = self.net.embedder(x)
        loss = supervised_loss(self.net, h)
        self._step("gs", loss)
        return {"s_loss": loss.detach().sqrt()}

    def joint(self) -> dict[str, Tensor]:
        n, stats = self.net, {}
        for _ in range(G_ROUNDS):
            x, z = self.batch()
            n.discriminator.requires_grad_(False)  # G's var_list: G and S only
            n.recovery.requires_grad_(False)
            e_hat = n.generator(z)
            h_hat = n.supervisor(e_hat)
            with torch.no_grad():
                h = n.embedder(x)
            loss_u = bce(n.discriminator(h_hat), 1.0)
            loss_s = supervised_loss(n, h)
            loss_v = moments(n.recovery(h_hat), x)
            loss_g = (
                loss_u + GAMMA * bce(n.discriminator(e_hat), 1.0) + 100 * torch.sqrt(loss_s) + 100 * loss_v
            )
            self._step("g", loss_g)
            n.discriminator.requires_grad_(True)
            n.recovery.requires_grad_(True)
            h = n.embedder(x)  # E's update: the same batch, after G's
            recon = F.mse_loss(n.recovery(h), x)
            self._step("e", 10 * torch.sqrt(recon) + 0.1 * supervised_loss(n, h))
            stats = {
                "g_loss_u": loss_u.detach(),
                "g_loss_s": loss_s.detach().sqrt(),
                "g_loss_v": loss_v.detach(),
                "e_loss_t0": recon.detach().sqrt(),
            }
        x, z = self.batch()
        with torch.no_grad():
            h = n.embedder(x)
            e_hat = n.generator(z)
            h_hat = n.supervisor(e_hat)
        d_loss = bce(n.discriminator(h), 1.0) + bce(n.discriminator(h_hat), 0.0)
        d_loss = d_loss + GAMMA * bce(n.discriminator(e_hat), 0.0)
        if d_loss.item() > D_THRESHOLD:  # train D only while it does not already win
            self._step("d", d_loss)
        return {**stats, "d_loss": d_loss.detach()}


def phase_length(recipe: Recipe, seconds: float) -> tuple[int, dict[str, float]]:
    """N such that three phases of N iterations fit `seconds`, from a few timed iterations of each
    phase on a throw-away copy (the caller's networks and optimizers stay untouched)."""
    probe = copy.deepcopy(recipe)
    pace = {}
    for phase in ("embedding", "supervised", "joint"):
        getattr(probe, phase)()  # warm-up
        start = time.perf_counter()
        for _ in range(PROBE):
            getattr(probe, phase)()
        pace[phase] = (time.perf_counter() - start) / PROBE
    return max(int(seconds / sum(pace.values())), 1), pace


def train(
    x: Tensor, seconds: float, seed: int, start: float | None = None, iterations: int | None = None
) -> tuple[TimeGan, dict[str, float]]:
    """The recipe on windows `x` (N, T, D) in [0, 1] until `seconds` have passed since `start`."""
    start = time.perf_counter() if start is None else start
    torch.manual_seed(seed)
    recipe = Recipe(x)
    deadline = start + seconds
    pace: dict[str, float] = {}
    if iterations is None:
        iterations, pace = phase_length(recipe, deadline - time.perf_counter())
    print(f"phases of {iterations} iterations; s/iteration {pace}", flush=True)
    done = {"embedding": 0, "supervised": 0, "joint": 0}
    stats: dict[str, Tensor] = {}
    for phase in done:
        while time.perf_counter() < deadline and (phase == "joint" or done[phase] < iterations):
            stats = getattr(recipe, phase)()
            done[phase] += 1
            if done[phase] % LOG_EVERY == 0:
                losses = " ".join(f"{k} {v.item():.4f}" for k, v in stats.items())
                print(f"[{phase} {done[phase]}] {losses}", flush=True)
    return recipe.net, {
        "steps": sum(done.values()),
        "phase_iterations": iterations,
        **{f"{phase}_steps": count for phase, count in done.items()},
        **{f"s_per_{phase}": value for phase, value in pace.items()},
        "seconds": time.perf_counter() - start,
        **{k: v.item() for k, v in stats.items()},
    }


@torch.no_grad()
def sample(net: TimeGan, n: int, seq_len: int, seed: int) -> Tensor:
    """`n` windows from Z ~ U[0, 1) (n, T, z_dim) drawn from `seed`."""
    net.eval()
    z = torch.rand(n, seq_len, net.z_dim, generator=torch.Generator().manual_seed(seed))
    return torch.cat([net(chunk) for chunk in z.split(SAMPLE_CHUNK)])


def main() -> None:
    parser = reference_parser(__doc__ or "", "timeseries")
    parser.add_argument(
        "--iterations", type=int, default=None, help="N per phase (default: sized to the budget)"
    )
    args = parser.parse_args()
    if args.device != "cpu":
        parser.error("--device: this reference runs on the CPU only")
    data, x, start = reference_data(args, "timeseries")
    net, stats = train(x, args.minutes * 60, args.seed, start, args.iterations)
    sizes = {"seq_len": x.shape[1], "features": x.shape[2], "z_dim": net.z_dim}
    save_reference(args.out, net, data, {**stats, **sizes})


if __name__ == "__main__":
    main()
