"""Scoring a trained generator on a file of sequences it never saw (`ganforge evaluate --tokens`).

The file is read the way the model's job read its data (text lines with the saved vocabulary and
tokenizer, or token ids), so the number is the held-out NLL the job reports, on other data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganforge.modalities.tokens.config import TokenModel
from ganforge.modalities.tokens.data import PAD, UNK, read_ids, read_lines, tokenize
from ganforge.modalities.tokens.metrics import heldout_nll
from ganforge.modalities.tokens.nets import TokenGenerator
from ganforge.platform.errors import DataError


@dataclass(frozen=True)
class FileScore:
    nll: float
    """Per-token NLL (nats) of the file's sequences under the generator, over all seq_len positions."""
    sequences: int
    seq_len: int


def read_for_model(path: Path, info: dict[str, Any], lowercase: bool = False) -> torch.Tensor:
    """`path`'s sequences as ids (n, seq_len) in the model's vocabulary.

    Raises:
        DataError: unreadable or empty file, a short id line, an id outside the vocabulary, or a text
            token the vocabulary lacks (when it has no `<unk>`), naming the file and the line.
    """
    seq_len, vocab = int(info["seq_len"]), info.get("vocab")
    if vocab is None:  # oracle and token-id models read token ids
        return read_ids(path, seq_len, int(info["vocab_size"]))
    index = {token: i for i, token in enumerate(vocab)}
    unk = index.get(UNK)
    rows: list[list[int]] = []
    for number, text in read_lines(path):
        tokens = tokenize(text, info["tokenizer"], lowercase)[:seq_len]
        ids = [index.get(token, unk) for token in tokens]
        if None in ids:
            token = tokens[ids.index(None)]
            raise DataError(
                f"{path}: line {number}: {token!r} is not in the model's vocabulary of {len(vocab)} "
                f"{info['tokenizer']} tokens (it has no {UNK})"
            )
        rows.append([*ids, *[index[PAD]] * (seq_len - len(ids))])  # type: ignore[list-item]  # padded as in training
    return torch.tensor(rows, dtype=torch.long)


def score_file(
    path: Path,
    model_cfg: TokenModel,
    info: dict[str, Any],
    weights: dict[str, torch.Tensor],
    lowercase: bool = False,
) -> FileScore:
    """The per-token NLL of `path` under the generator with `weights`.

    Args:
        model_cfg, info: the job's model config and its prepared data's facts (vocabulary, tokenizer).
        lowercase: whether the job lowercased its text (data.lowercase).
    """
    tokens = read_for_model(path, info, lowercase)
    generator = TokenGenerator(model_cfg, int(info["vocab_size"]), int(info["seq_len"]))
    generator.load_state_dict(weights)
    return FileScore(heldout_nll(generator.eval(), tokens), len(tokens), tokens.shape[1])
