"""Sample artifacts of token sequences: a table of generated vs real text, and a text file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.modalities.tokens.data import decode

TABLE_ROWS = 64


def decode_all(ids: torch.Tensor, info: dict[str, Any]) -> list[str]:
    vocab = info.get("vocab")
    return [decode(row, vocab, info.get("tokenizer", "ids"), info.get("pad_id")) for row in ids.tolist()]


def write_text(ids: torch.Tensor, out_dir: Path, info: dict[str, Any], name: str = "samples.txt") -> Path:
    """One decoded sequence per line (the format `dataset: text` / `token_ids` reads back)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text("\n".join(decode_all(ids, info)) + "\n", encoding="utf-8")
    return path


def text_table(fakes: torch.Tensor, reals: torch.Tensor, info: dict[str, Any]) -> dict[str, list[Any]]:
    n = min(TABLE_ROWS, len(fakes), len(reals))
    return {
        "index": list(range(n)),
        "generated": decode_all(fakes[:n], info),
        "real": decode_all(reals[:n], info),
    }
