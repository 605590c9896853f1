"""Token inputs a user brings: a published oracle's weights (SeqGAN's arrays, as .npz or pickle)
and a held-out file. A tiny .npz of the published arrays' names and shapes stands in for SeqGAN's
target_params_py3.pkl (5000 x 32), which the tests do not need."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.modalities.tokens.config import TokenData
from ganforge.modalities.tokens.data import load_corpus
from ganforge.modalities.tokens.oracle import PUBLISHED_NAMES
from ganforge.modalities.tokens.scoring import read_for_model
from ganforge.modalities.tokens.tiny import tiny_tokens
from ganforge.platform.config import load_job_dict
from ganforge.platform.errors import ConfigError, DataError

V, E, H = 11, 3, 4


def _published_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"g_embeddings": (V, E), "Wo": (H, V), "bo": (V,)}
    for gate in ("i", "f", "og", "c"):
        shapes |= {f"W{gate}": (E, H), f"U{gate}": (H, H), f"b{gate}": (H,)}
    return {name: rng.normal(size=shapes[name]).astype(np.float32) for name in PUBLISHED_NAMES}


def _target_lstm_nll(p: dict[str, np.ndarray], tokens: np.ndarray) -> float:
    """SeqGAN's target_lstm.py in numpy (its gate equations, start token 0): per-token NLL."""

    def sigmoid(x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-x))

    n, length = tokens.shape
    h, c = np.zeros((n, H)), np.zeros((n, H))
    x, total = p["g_embeddings"][np.zeros(n, dtype=int)], 0.0
    for t in range(length):
        i = sigmoid(x @ p["Wi"] + h @ p["Ui"] + p["bi"])
        f = sigmoid(x @ p["Wf"] + h @ p["Uf"] + p["bf"])
        o = sigmoid(x @ p["Wog"] + h @ p["Uog"] + p["bog"])
        c = f * c + i * np.tanh(x @ p["Wc"] + h @ p["Uc"] + p["bc"])
        h = o * np.tanh(c)
        logits = h @ p["Wo"] + p["bo"]
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        total -= log_probs[np.arange(n), tokens[:, t]].sum()
        x = p["g_embeddings"][tokens[:, t]]
    return total / tokens.size


def _oracle_data(path: Path, **extra: object) -> TokenData:
    return TokenData(dataset="oracle", oracle_weights=path, seq_len=6, n_samples=40, **extra)


def test_published_oracle_is_seqgans_lstm_whether_named_or_positional(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home"))
    arrays = _published_arrays()
    np.savez(tmp_path / "named.npz", **arrays)
    np.savez(tmp_path / "listed.npz", *arrays.values())  # np.savez(file, *pickle.load(...))
    with (tmp_path / "target_params.pkl").open("wb") as file:
        pickle.dump(list(arrays.values()), file)
    corpora = [
        load_corpus(_oracle_data(tmp_path / name))
        for name in ("named.npz", "listed.npz", "target_params.pkl")
    ]
    oracle = corpora[0].oracle
    assert oracle is not None and corpora[0].vocab_size == V and corpora[0].train.shape == (40, 6)
    tokens = torch.randint(0, V, (50, 6), generator=torch.Generator().manual_seed(1))
    assert oracle.nll(tokens) == pytest.approx(_target_lstm_nll(arrays, tokens.numpy()), rel=1e-5)
    for other in corpora[1:]:
        assert torch.equal(other.train, corpora[0].train)  # same weights, same draw
    # Its own samples are far likelier under it than uniform ids: the draw follows the oracle.
    assert oracle.nll(corpora[0].train) < oracle.nll(tokens) - 0.3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("Uog"), "no array 'Uog'"),
        (lambda a: a.update(Wc=np.zeros((E, H + 1), np.float32)), "array 'Wc' is float32 (3, 5), expected"),
        (lambda a: a.update(bo=np.zeros(V + 1, np.float32)), "array 'bo' is float32 (12,), expected"),
    ],
)
def test_wrong_oracle_arrays_name_the_file_and_array(tmp_path: Path, change: object, message: str) -> None:
    arrays = _published_arrays()
    change(arrays)  # type: ignore[operator]
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConfigError, match="data.oracle_weights") as error:
        load_corpus(_oracle_data(path))
    assert str(path) in str(error.value) and message in str(error.value) and "\n" not in str(error.value)


def test_a_pickle_that_holds_code_is_refused_unrun(tmp_path: Path) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(print))  # any global but numpy's array rebuilders
    with pytest.raises(ConfigError, match="not a SeqGAN oracle pickle or .npz .holds builtins.print"):
        load_corpus(_oracle_data(path))


def test_a_heldout_file_is_held_out_and_excludes_heldout_fraction(tmp_path: Path) -> None:
    train, heldout = tmp_path / "train.txt", tmp_path / "valid.txt"
    train.write_text("1 2 3\n4 5 6\n7 8 9\n")
    heldout.write_text("3 2 1\n12 0 0\n")
    corpus = load_corpus(TokenData(dataset="token_ids", path=train, heldout_path=heldout, seq_len=3))
    assert corpus.train.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert corpus.heldout.tolist() == [[3, 2, 1], [12, 0, 0]] and corpus.vocab_size == 13
    with pytest.raises(DataError, match=f"{heldout}: holds id 12"):
        load_corpus(
            TokenData(dataset="token_ids", path=train, heldout_path=heldout, seq_len=3, vocab_size=10)
        )
    raw = tiny_tokens("mle")
    raw["data"] = {
        "dataset": "token_ids",
        "path": str(train),
        "heldout_path": str(heldout),
        "heldout_fraction": 0.2,
    }
    with pytest.raises(ConfigError, match="heldout_path and heldout_fraction both set"):
        load_job_dict(raw)


def test_a_text_file_is_read_in_the_models_vocabulary(tmp_path: Path) -> None:
    path = tmp_path / "test.txt"
    path.write_text("ab\nBa\n")
    info = {"seq_len": 3, "vocab": ["<pad>", "a", "b", "B"], "vocab_size": 4, "tokenizer": "char"}
    assert read_for_model(path, info).tolist() == [[1, 2, 0], [3, 1, 0]]
    assert read_for_model(path, info, lowercase=True).tolist() == [[1, 2, 0], [2, 1, 0]]
    path.write_text("ab\nzb\n")
    with pytest.raises(DataError, match=f"{path}: line 2: 'z' is not in the model's vocabulary of 4 char"):
        read_for_model(path, info)
    info["vocab"] = ["<pad>", "<unk>", "a", "b"]
    assert read_for_model(path, info).tolist() == [[2, 3, 0], [1, 3, 0]]
