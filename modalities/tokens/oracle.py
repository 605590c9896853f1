"""The SeqGAN synthetic oracle: a randomly initialised LSTM that plays the real data distribution.

As in LantaoYu/SeqGAN's `target_lstm.py`: every parameter is drawn from N(0, 1) (the large
weights make the oracle's next-token distributions peaked, which is what makes the benchmark
meaningful), the first input is the embedding of token 0, and tokens are sampled from the
softmax of the output layer. The weights come from a fixed seed, so every run (and every Ray
worker) sees the same oracle without storing it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor


class OracleLSTM(nn.Module):
    """The oracle's LSTM: embedding, one LSTM layer, output projection, all N(0, 1)."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, seq_len: int, seed: int) -> None:
        super().__init__()
        rng = torch.Generator().manual_seed(seed)

        def normal(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(*shape, generator=rng), requires_grad=False)

        self.seq_len, self.vocab_size = seq_len, vocab_size
        self.embedding = normal(vocab_size, embed_dim)
        self.w_x = normal(embed_dim, 4 * hidden_dim)  # input, forget, output, cell gates
        self.w_h = normal(hidden_dim, 4 * hidden_dim)
        self.bias = normal(4 * hidden_dim)
        self.w_out = normal(hidden_dim, vocab_size)
        self.b_out = normal(vocab_size)

    def _cell(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        i, f, o, g = (x @ self.w_x + h @ self.w_h + self.bias).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def _start(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        h = self.w_h.new_zeros(n, self.w_h.shape[0])
        return self.embedding[torch.zeros(n, dtype=torch.long)], h, h.clone()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, batch: int = 2000) -> Tensor:
        """`n` sequences of token ids, (n, seq_len) int64."""
        chunks = []
        for start in range(0, n, batch):
            m = min(batch, n - start)
            x, h, c = self._start(m)
            tokens = []
            for _ in range(self.seq_len):
                h, c = self._cell(x, h, c)
                cdf = F.softmax(h @ self.w_out + self.b_out, dim=-1).cumsum(dim=-1)
                # Inverse-CDF sampling: torch.multinomial is ~20x slower at this vocabulary size.
                u = torch.rand(m, 1, generator=generator) * cdf[:, -1:]
                token = torch.searchsorted(cdf, u).squeeze(1).clamp(max=cdf.shape[1] - 1)
                tokens.append(token)
                x = self.embedding[token]
            chunks.append(torch.stack(tokens, dim=1))
        return torch.cat(chunks)

    @torch.no_grad()
    def nll(self, tokens: Tensor, batch: int = 2000) -> float:
        """Mean per-token negative log-likelihood of `tokens` under the oracle (SeqGAN's metric)."""
        total = 0.0
        for start in range(0, len(tokens), batch):
            chunk = tokens[start : start + batch].long()
            x, h, c = self._start(len(chunk))
            for t in range(chunk.shape[1]):
                h, c = self._cell(x, h, c)
                log_probs = F.log_softmax(h @ self.w_out + self.b_out, dim=-1)
                total -= log_probs.gather(1, chunk[:, t : t + 1]).sum().item()
                x = self.embedding[chunk[:, t]]
        return total / tokens.numel()
