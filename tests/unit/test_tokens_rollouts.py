"""SeqGAN's rewards with all prefixes rolled out in one pass: every completion keeps its prefix, and
each prefix's reward is D's mean over its own completions (checked with a G that always samples
one token and a D that scores a known function of the sequence)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.modalities.tokens import MODALITY
from ganforge.modalities.tokens import objective as objective_module
from ganforge.modalities.tokens.objective import SeqGanObjective
from ganforge.modalities.tokens.tiny import tiny_tokens
from ganforge.platform.config import load_job_dict
from ganforge.platform.gan import GanNets
from ganforge.platform.runners.loop import build_objective

FILL = 5  # the only token the rigged generator samples


class CountingD(nn.Module):
    """logit = number of FILL tokens - 3; remembers every batch it scored."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        self.seen.append(rows.clone())
        return (rows == FILL).sum(dim=1).float() - 3


@pytest.mark.parametrize("elements", [2**21, 50 * 7])  # all rows at once; one block (k n rows) per call
def test_batched_rollouts_keep_prefixes_and_average_their_own_completions(
    elements: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(objective_module, "ROLLOUT_ELEMENTS", elements)
    torch.manual_seed(0)
    job = load_job_dict(tiny_tokens("seqgan"))
    data = MODALITY.prepare(job.data)
    g, d = MODALITY.build_generator(job.model, data), CountingD()
    with torch.no_grad():
        g.out.bias[FILL] = 1e4  # every sampled token is FILL
    objective = build_objective(job, GanNets(g, d, g, d), torch.device("cpu"))
    assert isinstance(objective, SeqGanObjective)
    tokens = torch.randint(0, 50, (6, 8), generator=torch.Generator().manual_seed(1))
    tokens[tokens == FILL] = 0
    rewards = objective.rewards(tokens)

    length, k = tokens.shape[1], job.model.rollouts
    expected = torch.empty(6, length)
    for t in range(1, length + 1):  # prefix t, completed with FILL: (T - t) FILLs
        expected[:, t - 1] = torch.sigmoid(torch.tensor(float(length - t - 3)))
    assert torch.allclose(rewards, expected)
    rollouts = torch.cat(d.seen[:-1])  # the last call scores the full sequences
    assert len(rollouts) == (length - 1) * k * len(tokens)
    for row in rollouts:
        fills = int((row == FILL).sum())
        prefix = length - fills
        assert 1 <= prefix < length and bool((row[prefix:] == FILL).all())
        assert any(torch.equal(row[:prefix], real[:prefix]) for real in tokens)
