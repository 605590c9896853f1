"""The SeqGAN synthetic oracle: a randomly initialised LSTM that plays the real data distribution.

As in LantaoYu/SeqGAN's `target_lstm.py`: every parameter is drawn from N(0, 1) (the large
weights make the oracle's next-token distributions peaked, which is what makes the benchmark
meaningful), the first input is the embedding of token 0, and tokens are sampled from the
softmax of the output layer. The weights come from a fixed seed, so every run (and every Ray
worker) sees the same oracle without storing it; or, for results comparable with the papers, from
the published oracle's arrays (`load_published_oracle`, data.oracle_weights).
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.platform.errors import ConfigError

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


# -- a published oracle: LantaoYu/SeqGAN's target_params (a pickle or an .npz of its arrays) --

# fmt: off
PUBLISHED_NAMES = ("g_embeddings", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog", "Wc", "Uc", "bc",
                   "Wo", "bo")
# fmt: on
"""target_lstm.py's parameters in the order of its `params` list: embedding (V, E); per gate (input,
forget, output, cell) W (E, H), U (H, H), b (H,); output layer Wo (H, V), bo (V,)."""
# What a pickle of numpy arrays may name (numpy 1 and 2 spell the module differently); anything
# else (code) is refused, so loading a downloaded pickle cannot run it.
_PICKLE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"holds {module}.{name}, not only numpy arrays")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core under numpy 2
            return super().find_class(module, name)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The 15 arrays by SeqGAN's names, from a pickled list or an .npz (named, or arr_0..arr_14)."""
    where = f"data.oracle_weights = {str(path)!r}"
    try:
        if path.suffix.lower() == ".npz":
            # Named arrays, or np.savez(file, *params) of the pickle's list: arr_0..arr_14 in its order.
            positional = {f"arr_{i}": name for i, name in enumerate(PUBLISHED_NAMES)}
            with np.load(path, allow_pickle=False) as npz:
                stored = {positional.get(key, key): npz[key] for key in npz.files}
        else:
            with path.open("rb") as file:
                params = _ArraysOnly(file, encoding="latin1").load()
            if not isinstance(params, list | tuple) or len(params) != len(PUBLISHED_NAMES):
                raise ConfigError(
                    f"{where}: expected a list of {len(PUBLISHED_NAMES)} arrays (SeqGAN's target_params)"
                )
            stored = dict(zip(PUBLISHED_NAMES, params, strict=True))
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        if isinstance(error, ConfigError):
            raise
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"{where}: not a SeqGAN oracle pickle or .npz ({first})") from None
    missing = [name for name in PUBLISHED_NAMES if name not in stored]
    if missing:
        raise ConfigError(f"{where}: no array {missing[0]!r} (expected {', '.join(PUBLISHED_NAMES)})")
    return {name: np.asarray(stored[name]) for name in PUBLISHED_NAMES}


def _check_shapes(arrays: dict[str, np.ndarray], path: Path) -> tuple[int, int, int]:
    """(vocab, embed, hidden) the arrays agree on; ConfigError naming the first array that does not."""
    vocab, embed = arrays["g_embeddings"].shape if arrays["g_embeddings"].ndim == 2 else (0, 0)
    hidden = arrays["Ui"].shape[0] if arrays["Ui"].ndim == 2 else 0
    expected = {"g_embeddings": (vocab, embed), "Wo": (hidden, vocab), "bo": (vocab,)}
    for gate in ("i", "f", "og", "c"):
        expected |= {f"W{gate}": (embed, hidden), f"U{gate}": (hidden, hidden), f"b{gate}": (hidden,)}
    for name in PUBLISHED_NAMES:
        array, shape = arrays[name], expected[name]
        if array.shape != shape or 0 in shape or not np.issubdtype(array.dtype, np.floating):
            raise ConfigError(
                f"data.oracle_weights = {str(path)!r}: array {name!r} is {array.dtype} {array.shape}, "
                f"expected floats {shape} (from g_embeddings {vocab}x{embed} and Ui {hidden}x{hidden})"
            )
    return vocab, embed, hidden


def load_published_oracle(path: Path, seq_len: int) -> OracleLSTM:
    """The oracle whose weights `path` holds (SeqGAN's `target_params_py3.pkl` or an .npz of it).

    Raises:
        ConfigError: unreadable file, a missing array, or arrays whose shapes do not fit together.
    """
    arrays = _read_arrays(path)
    vocab, embed, hidden = _check_shapes(arrays, path)
    oracle = OracleLSTM(vocab, embed, hidden, seq_len, seed=0)

    def joined(prefix: str) -> Tensor:  # TF's per-gate matrices -> our fused (in, 4H), gates i, f, o, g
        return torch.from_numpy(
            np.concatenate([arrays[f"{prefix}{g}"] for g in ("i", "f", "og", "c")], axis=-1)
        )

    with torch.no_grad():
        oracle.embedding.copy_(torch.from_numpy(arrays["g_embeddings"]))
        oracle.w_x.copy_(joined("W"))
        oracle.w_h.copy_(joined("U"))
        oracle.bias.copy_(joined("b"))
        oracle.w_out.copy_(torch.from_numpy(arrays["Wo"]))
        oracle.b_out.copy_(torch.from_numpy(arrays["bo"]))
    return oracle
