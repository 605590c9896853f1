"""Time of one SeqGAN policy-gradient G step (sampling, Monte-Carlo rollouts, D rewards, update) on
the shipped configs/tokens/oracle_seqgan.yaml (batch 64, length 20, vocabulary 5,000, 8 rollouts),
with the rollouts batched over all prefixes (objective.py) and, for comparison, with the loop over
prefix lengths they replaced (`per_prefix_rewards`, one rollout pass per prefix length).

Run it on one core for numbers comparable across machines:
OMP_NUM_THREADS=1 python benchmarks/tokens_pg_step.py [--steps 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ganforge.modalities.tokens import MODALITY
from ganforge.modalities.tokens.nets import sample_tokens
from ganforge.modalities.tokens.objective import SeqGanObjective
from ganforge.platform.config import load_job_file
from ganforge.platform.gan import GanNets
from ganforge.platform.runners.loop import build_objective


@torch.no_grad()
def per_prefix_rewards(self: SeqGanObjective, tokens: torch.Tensor) -> torch.Tensor:
    """The replaced implementation: for each prefix length t, k completions, then D (a loop)."""
    n, length = tokens.shape
    k = self.model.rollouts
    was_training = self.d.training
    self.d.eval()
    rewards = torch.empty(n, length, device=tokens.device)
    for t, (h, c) in enumerate(self.g.states_along(tokens), start=1):
        rows = tokens.repeat(k, 1)
        state = (h.repeat(k, 1), c.repeat(k, 1))
        x = self.g.embedding(rows[:, t - 1])
        for position in range(t, length):
            logits, state = self.g.step(x, state)
            rows[:, position] = sample_tokens(logits)
            x = self.g.embedding(rows[:, position])
        rewards[:, t - 1] = torch.sigmoid(self.d(rows)).view(k, n).mean(dim=0)
    rewards[:, -1] = torch.sigmoid(self.d(tokens))
    self.d.train(was_training)
    return rewards


def time_steps(objective: SeqGanObjective, z: torch.Tensor, real: torch.Tensor, steps: int) -> list[float]:
    objective.generator_step(z, real)  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        objective.generator_step(z, real)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    job = load_job_file("configs/tokens/oracle_seqgan.yaml", {"data.n_samples": 64})
    data = MODALITY.prepare(job.data)
    g, d = MODALITY.build_generator(job.model, data), MODALITY.build_discriminator(job.model, data)
    objective = build_objective(job, GanNets(g, d, g, d), torch.device("cpu"))
    objective.start_step(job.model.pretrain_steps)  # the adversarial phase
    real = data.dataset.tensors[0][: job.train.batch_size]  # type: ignore[attr-defined]
    z = MODALITY.sample_latents(job.model, data.info, job.train.batch_size)
    assert isinstance(objective, SeqGanObjective)
    batched = time_steps(objective, z, real, args.steps)
    objective.rewards = per_prefix_rewards.__get__(objective)  # type: ignore[method-assign]
    looped = time_steps(objective, z, real, args.steps)
    for label, times in (("per-prefix loop", looped), ("batched prefixes", batched)):
        print(
            f"SeqGAN G step, {label}: median {statistics.median(times):.3f} s, min {min(times):.3f} s "
            f"over {args.steps} steps (threads: {torch.get_num_threads()})"
        )


if __name__ == "__main__":
    main()
