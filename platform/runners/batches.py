"""Per-rank sharded, resumable batch sampling and seed derivation."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torch.utils.data._utils.collate import default_collate


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (job seed, rank, stream), independent across streams."""
    return int(np.random.SeedSequence(list(parts)).generate_state(2, dtype=np.uint64)[0] >> 1)


class ShardSampler:
    """Draws batches from this rank's disjoint shard, epoch by epoch, in a seeded order.

    Rank r of W owns items r, r+W, r+2W, ... Its whole position (generator state, current
    permutation, offset) goes into the checkpoint, so a resumed run sees the same batches.
    """

    def __init__(self, dataset: Dataset, rank: int, world_size: int, seed: int) -> None:
        self.dataset = dataset
        self.indices = torch.arange(rank, len(dataset), world_size)  # type: ignore[arg-type]
        if len(self.indices) == 0:
            raise ValueError(f"rank {rank} of {world_size} has no data: the dataset is too small")
        self.generator = torch.Generator().manual_seed(derive_seed(seed, rank, 0))
        self._order = self._new_order()
        self._offset = 0
        self._tensors = getattr(dataset, "tensors", None)

    def _new_order(self) -> torch.Tensor:
        return self.indices[torch.randperm(len(self.indices), generator=self.generator)]

    def next_batch(self, batch_size: int) -> Any:
        """The next `batch_size` items; crosses epoch boundaries without dropping any."""
        picked = []
        needed = batch_size
        while needed > 0:
            if self._offset >= len(self._order):
                self._order, self._offset = self._new_order(), 0
            take = self._order[self._offset : self._offset + needed]
            self._offset += len(take)
            needed -= len(take)
            picked.append(take)
        index = torch.cat(picked)
        if self._tensors is not None:
            # In-memory datasets: one gather instead of a Python loop over items.
            items = tuple(t[index] for t in self._tensors)
            return items[0] if len(items) == 1 else items
        return default_collate([self.dataset[int(i)] for i in index])

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.get_state(),
            "order": self._order,
            "offset": self._offset,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self._order, self._offset = state["order"], state["offset"]
