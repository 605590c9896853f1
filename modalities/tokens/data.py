"""Token corpora: the SeqGAN oracle, text files (characters or words) and files of token ids.

Each corpus is split once into training and held-out sequences (seeded); the held-out part feeds
the held-out NLL and BLEU metrics. Bad files fail here, before training, with a DataError naming
the file and the line.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ganforge.modalities.tokens.config import TokenData
from ganforge.modalities.tokens.oracle import OracleLSTM, load_published_oracle
from ganforge.platform.errors import ConfigError, DataError
from ganforge.platform.home import ganforge_home

PAD = "<pad>"
UNK = "<unk>"
ORACLE_VOCAB = 5000  # SeqGAN's synthetic experiment
WORD = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class TokenCorpus:
    """Training and held-out id sequences (n, seq_len) and what decodes them."""

    train: torch.Tensor
    heldout: torch.Tensor
    vocab_size: int
    vocab: tuple[str, ...] | None
    """Token strings by id (text corpora); None where ids are the data (oracle, id files)."""
    tokenizer: str
    """`char`, `word` or `ids`: how `decode` joins tokens."""
    pad_id: int | None
    """Id that pads (and so ends) a text line; generation decodes up to its first pad."""
    oracle: OracleLSTM | None = None


def load_corpus(cfg: TokenData) -> TokenCorpus:
    """The corpus of `cfg`: the oracle's samples, or a user file split into train and held-out."""
    if cfg.dataset == "oracle":
        return _oracle_corpus(cfg)
    if cfg.dataset == "text":
        return _text_corpus(cfg)
    return _ids_corpus(cfg)


def make_oracle(cfg: TokenData) -> OracleLSTM:
    """The seeded random oracle, or the published one whose weights data.oracle_weights names."""
    if cfg.oracle_weights is not None:
        oracle = load_published_oracle(cfg.oracle_weights, cfg.seq_len)
        if cfg.vocab_size is not None and cfg.vocab_size != oracle.vocab_size:
            raise ConfigError(
                f"data.vocab_size = {cfg.vocab_size}, but data.oracle_weights = {str(cfg.oracle_weights)!r} "
                f"has a vocabulary of {oracle.vocab_size} (leave vocab_size unset)"
            )
        return oracle
    return OracleLSTM(
        cfg.vocab_size or ORACLE_VOCAB, cfg.oracle_embed, cfg.oracle_hidden, cfg.seq_len, cfg.seed
    )


def _oracle_key(cfg: TokenData, oracle: OracleLSTM, total: int) -> str:
    """What a cached sample depends on: the oracle (its file's bytes, or its seed and shape), the draw."""
    if cfg.oracle_weights is not None:
        digest = hashlib.sha256(cfg.oracle_weights.read_bytes()).hexdigest()[:16]
        return f"{digest}-{cfg.seq_len}-{cfg.seed}-{total}"
    return f"{oracle.vocab_size}-{cfg.oracle_embed}-{cfg.oracle_hidden}-{cfg.seq_len}-{cfg.seed}-{total}"


def _oracle_corpus(cfg: TokenData) -> TokenCorpus:
    oracle = make_oracle(cfg)
    n_heldout = math.ceil(cfg.n_samples * cfg.heldout_fraction)
    # Sampling 11,000 x 20 tokens from a 5,000-way softmax takes a while on a CPU: cache it.
    total = cfg.n_samples + n_heldout
    cache = ganforge_home() / "cache" / "tokens" / f"oracle-{_oracle_key(cfg, oracle, total)}.pt"
    if cache.is_file():
        data = torch.load(cache)
    else:
        data = oracle.sample(total, torch.Generator().manual_seed(cfg.seed + 1))
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        torch.save(data, partial)
        partial.replace(cache)  # atomic: parallel workers never read half a file
    return TokenCorpus(
        data[: cfg.n_samples], data[cfg.n_samples :], oracle.vocab_size, None, "ids", None, oracle
    )


def _split(path: Path, rows: torch.Tensor, cfg: TokenData) -> tuple[torch.Tensor, torch.Tensor]:
    if len(rows) < 2:
        raise DataError(f"{path}: {len(rows)} sequence(s); at least 2 are needed (training and held-out)")
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(cfg.seed))
    n_heldout = min(max(1, round(len(rows) * cfg.heldout_fraction)), len(rows) - 1)
    return rows[order[n_heldout:]], rows[order[:n_heldout]]


def _train_and_heldout(
    cfg: TokenData, read: Callable[[Path], torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """data.path split by heldout_fraction, or all of it for training and data.heldout_path held out."""
    assert cfg.path is not None  # the config validator guarantees it
    if cfg.heldout_path is None:
        return _split(cfg.path, read(cfg.path), cfg)
    return read(cfg.path), read(cfg.heldout_path)


def read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines; DataError for an unreadable or empty file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 text") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror})") from None
    lines = [(i + 1, line.rstrip("\r")) for i, line in enumerate(text.split("\n")) if line.strip()]
    if not lines:
        raise DataError(f"{path}: empty file (no sequences)")
    return lines


def tokenize(line: str, tokenizer: str, lowercase: bool) -> list[str]:
    line = line.lower() if lowercase else line
    return list(line) if tokenizer == "char" else WORD.findall(line)


def _text_corpus(cfg: TokenData) -> TokenCorpus:
    assert cfg.path is not None  # the config validator guarantees it
    files = [cfg.path, *([cfg.heldout_path] if cfg.heldout_path else [])]
    lines = {
        path: [tokenize(text, cfg.tokenizer, cfg.lowercase) for _, text in read_lines(path)] for path in files
    }
    counts = Counter(token for tokens in lines.values() for line in tokens for token in line)
    ranked = sorted(counts, key=lambda token: (-counts[token], token))
    specials = [PAD]
    if cfg.max_vocab is not None and len(ranked) > cfg.max_vocab - 2:
        specials.append(UNK)
        ranked = ranked[: cfg.max_vocab - 2]
    vocab = (*specials, *ranked)
    index = {token: i for i, token in enumerate(vocab)}
    train, heldout = _train_and_heldout(cfg, lambda path: encode(lines[path], index, cfg.seq_len))
    return TokenCorpus(train, heldout, len(vocab), vocab, cfg.tokenizer, 0)


def encode(lines: list[list[str]], index: dict[str, int], seq_len: int) -> torch.Tensor:
    """Token lines as ids (n, seq_len), cut or padded with id 0 (`<pad>`); unknown tokens are `<unk>`."""
    unk = index.get(UNK, 0)
    rows = torch.zeros(len(lines), seq_len, dtype=torch.long)  # 0 is <pad>
    for row, line in enumerate(lines):
        ids = [index.get(token, unk) for token in line[:seq_len]]
        rows[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return rows


def read_ids(path: Path, seq_len: int, vocab_size: int | None = None) -> torch.Tensor:
    """A file of whitespace-separated token ids as (n, seq_len); DataError naming line and token.

    Args:
        vocab_size: when given, every id must be below it.
    """
    rows = []
    for number, text in read_lines(path):
        fields = text.split()
        if len(fields) < seq_len:
            raise DataError(
                f"{path}: line {number}: {len(fields)} tokens, fewer than data.seq_len = {seq_len}"
            )
        ids = []
        for position, field in enumerate(fields[:seq_len]):
            if not field.isdigit() or (vocab_size is not None and int(field) >= vocab_size):
                what = (
                    "is not a token id"
                    if not field.isdigit()
                    else f"is not below the vocabulary size {vocab_size}"
                )
                raise DataError(f"{path}: line {number}, token {position + 1}: {field!r} {what}")
            ids.append(int(field))
        rows.append(ids)
    return torch.tensor(rows, dtype=torch.long)


def _ids_corpus(cfg: TokenData) -> TokenCorpus:
    train, heldout = _train_and_heldout(cfg, lambda path: read_ids(path, cfg.seq_len))
    vocab_size = int(max(train.max(), heldout.max())) + 1
    if cfg.vocab_size is not None:
        if cfg.vocab_size < vocab_size:
            where = cfg.path if int(train.max()) + 1 == vocab_size else cfg.heldout_path
            raise DataError(
                f"{where}: holds id {vocab_size - 1}, not below data.vocab_size = {cfg.vocab_size}"
            )
        vocab_size = cfg.vocab_size
    return TokenCorpus(train, heldout, vocab_size, None, "ids", None)


def decode(ids: list[int], vocab: list[str] | None, tokenizer: str, pad_id: int | None) -> str:
    """One id sequence as text: up to the first pad, joined as the tokenizer split it."""
    if pad_id is not None and pad_id in ids:
        ids = ids[: ids.index(pad_id)]
    if vocab is None:
        return " ".join(str(i) for i in ids)
    return ("" if tokenizer == "char" else " ").join(vocab[i] for i in ids)
