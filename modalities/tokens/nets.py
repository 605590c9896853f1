"""Token networks: a recurrent generator (LSTM or GRU) and SeqGAN's CNN discriminator.

The generator's `forward` is what the registry exports: latents are one uniform number per
position, and each token is drawn by inverse-CDF sampling from the softmax, so the forward is
deterministic given its input (no in-forward randomness) and a fixed-length unrolled loop.
Training uses the other methods (teacher forcing, free sampling, Gumbel-softmax), which call the
module directly; see token_step.py for what that means under DDP.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.modalities.tokens.config import TokenModel

Tensor = torch.Tensor
State = tuple[Tensor, Tensor]  # (h, c); c is unused by the GRU


class TokenGenerator(nn.Module):
    """Embedding -> one recurrent layer -> vocabulary logits, started from a learned input."""

    def __init__(self, cfg: TokenModel, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        self.vocab_size, self.seq_len, self.cell = vocab_size, seq_len, cfg.cell
        hidden = cfg.hidden_dim
        self.embedding = nn.Embedding(vocab_size, cfg.embed_dim)
        self.start = nn.Parameter(torch.zeros(cfg.embed_dim))
        rnn = nn.LSTM if cfg.cell == "lstm" else nn.GRU
        self.rnn = rnn(cfg.embed_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)
        if cfg.init_std is not None:
            for parameter in self.parameters():
                nn.init.normal_(parameter, 0.0, cfg.init_std)

    # -- one recurrent step with the fused layer's own weights (export-friendly) --
    def initial_state(self, n: int) -> State:
        h = self.out.weight.new_zeros(n, self.rnn.hidden_size)
        return h, h

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """Consumes input embeddings `x` (n, E); returns next-token logits and the new state."""
        h, c = state
        gi = F.linear(x, self.rnn.weight_ih_l0, self.rnn.bias_ih_l0)
        gh = F.linear(h, self.rnn.weight_hh_l0, self.rnn.bias_hh_l0)
        if self.cell == "lstm":
            i, f, g, o = (gi + gh).chunk(4, dim=-1)  # PyTorch's gate order
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            ir, iz, in_ = gi.chunk(3, dim=-1)
            hr, hz, hn = gh.chunk(3, dim=-1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            h = (1 - z) * torch.tanh(in_ + r * hn) + z * h
        return self.out(h), (h, c)

    def start_input(self, n: int) -> Tensor:
        return self.start.unsqueeze(0).expand(n, -1)

    def forward(self, z: Tensor) -> Tensor:
        """Latents (n, seq_len) uniform in [0, 1) -> token ids (n, seq_len) int64."""
        n = z.shape[0]
        x, state = self.start_input(n), self.initial_state(n)
        tokens = []
        for t in range(self.seq_len):
            logits, state = self.step(x, state)
            cdf = F.softmax(logits.float(), dim=-1).cumsum(dim=-1)
            # Inverse CDF: the number of categories whose cumulative mass lies below u.
            token = (cdf < z[:, t : t + 1]).sum(dim=-1).clamp(max=self.vocab_size - 1)
            tokens.append(token)
            x = self.embedding(token)
        return torch.stack(tokens, dim=1)

    # -- training helpers --
    def teacher_logits(self, tokens: Tensor) -> Tensor:
        """Next-token logits (n, T, V) for real `tokens` (n, T) under teacher forcing."""
        inputs = torch.cat(
            [self.start_input(len(tokens)).unsqueeze(1), self.embedding(tokens[:, :-1])], dim=1
        )
        hidden, _ = self.rnn(inputs)
        return self.out(hidden)

    def nll(self, tokens: Tensor) -> Tensor:
        """Mean per-token negative log-likelihood of `tokens` (the MLE loss)."""
        logits = self.teacher_logits(tokens)
        return F.cross_entropy(logits.reshape(-1, self.vocab_size), tokens.reshape(-1))

    def sample(self, n: int) -> Tensor:
        """Free-running samples (n, T) using torch's random stream (training only)."""
        return self.forward(torch.rand(n, self.seq_len, device=self.start.device))

    def states_along(self, tokens: Tensor) -> list[State]:
        """State after consuming the first t tokens' inputs, for t = 1..T-1 (rollout starts)."""
        n = len(tokens)
        x, state = self.start_input(n), self.initial_state(n)
        states = []
        for t in range(tokens.shape[1] - 1):
            _, state = self.step(x, state)
            states.append(state)
            x = self.embedding(tokens[:, t])
        return states

    def gumbel_sample(self, n: int, beta: float) -> tuple[Tensor, Tensor]:
        """RelGAN sampling: hard tokens (n, T) and soft one-hots softmax(beta (o + g)) (n, T, V).

        The next input is the hard token's embedding; gradients reach G through the soft
        one-hots that D sees.
        """
        x, state = self.start_input(n), self.initial_state(n)
        hard, soft = [], []
        for _ in range(self.seq_len):
            logits, state = self.step(x, state)
            u = torch.rand_like(logits).clamp_(1e-10, 1 - 1e-10)
            perturbed = logits - torch.log(-torch.log(u))
            token = perturbed.argmax(dim=-1)
            hard.append(token)
            soft.append(F.softmax(beta * perturbed, dim=-1))
            x = self.embedding(token)
        return torch.stack(hard, dim=1), torch.stack(soft, dim=1)


def tempered(generator: TokenGenerator, temperature: float) -> TokenGenerator:
    """A copy of `generator` whose next-token distribution is softmax(logits / temperature).

    Sampling and NLL both see the tempered distribution, so a held-out NLL measured on the copy is
    the price of the sharper samples. Below 1 this trades diversity for sample quality, the curve
    an MLE model gets without any adversarial training (Caccia et al. 2018, "Language GANs
    falling short"): the bar a GAN's gain has to clear.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    scaled = copy.deepcopy(generator)
    with torch.no_grad():
        scaled.out.weight /= temperature
        scaled.out.bias /= temperature
    return scaled


def sample_tokens(logits: Tensor) -> Tensor:
    """One token per row from softmax(logits), by inverse CDF (torch.multinomial is far slower)."""
    cdf = F.softmax(logits, dim=-1).cumsum(dim=-1)
    u = torch.rand(len(cdf), 1, device=cdf.device, dtype=cdf.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).squeeze(1).clamp(max=cdf.shape[1] - 1)


class TokenDiscriminator(nn.Module):
    """SeqGAN's CNN: embedding, parallel convolutions of several widths, max-over-time, highway.

    Takes token ids (n, T) or (soft) one-hot rows (n, T, V); returns one logit per sequence.
    """

    def __init__(self, cfg: TokenModel, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        widths = [w for w in cfg.d_filter_sizes if w <= seq_len] or [min(cfg.d_filter_sizes)]
        self.embedding = nn.Embedding(vocab_size, cfg.d_embed_dim)
        self.convs = nn.ModuleList(nn.Conv1d(cfg.d_embed_dim, cfg.d_num_filters, w) for w in widths)
        features = cfg.d_num_filters * len(widths)
        self.highway = nn.Linear(features, 2 * features)
        self.dropout = nn.Dropout(cfg.d_dropout)
        self.head = nn.Linear(features, 1)

    def forward(self, x: Tensor) -> Tensor:
        # Soft one-hots go through the same embedding matrix, so D sees both kinds alike.
        e = x @ self.embedding.weight if x.is_floating_point() else self.embedding(x)
        e = e.transpose(1, 2)  # (n, E, T) for Conv1d
        pooled = torch.cat([F.relu(conv(e)).amax(dim=2) for conv in self.convs], dim=1)
        transform, gate = self.highway(pooled).chunk(2, dim=1)
        gate = torch.sigmoid(gate)
        features = gate * F.relu(transform) + (1 - gate) * pooled
        return self.head(self.dropout(features)).squeeze(1)
