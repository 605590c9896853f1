"""Data fingerprints (run tags and metric-model cache keys) work for any map-style dataset."""

from __future__ import annotations

import hashlib

import torch
from torch.utils.data import Dataset, TensorDataset

from ganforge.platform.modality import Prepared, fingerprint_dataset


class _Pairs(Dataset):
    """A dataset that is not a TensorDataset: (x, y) pairs computed on access."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]


def test_any_dataset_is_fingerprinted_by_its_content() -> None:
    x, y = torch.arange(12.0).view(6, 2), torch.arange(6)
    first = fingerprint_dataset(_Pairs(x, y))
    assert len(first) == 16 and first == fingerprint_dataset(_Pairs(x.clone(), y.clone()))
    changed = x.clone()
    changed[3, 1] += 1
    assert fingerprint_dataset(_Pairs(changed, y)) != first  # one value
    assert fingerprint_dataset(_Pairs(x, y.flip(0))) != first  # the labels
    assert fingerprint_dataset(_Pairs(x.double(), y)) != first  # the dtype, same values
    assert fingerprint_dataset(_Pairs(x[:5], y[:5])) != first  # one item fewer


def test_tensor_datasets_keep_their_earlier_keys() -> None:
    """Metric models already stored were keyed by the bytes of a TensorDataset's tensors."""
    x = torch.arange(6.0)
    assert fingerprint_dataset(TensorDataset(x)) == hashlib.sha256(x.numpy().tobytes()).hexdigest()[:16]
    assert Prepared.of(TensorDataset(x)).fingerprint == fingerprint_dataset(TensorDataset(x))
