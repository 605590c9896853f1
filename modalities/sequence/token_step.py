"""The token objective: MLE pre-training, then SeqGAN policy gradient or Gumbel-softmax (RelGAN).

Phases by G step: `[0, pretrain_steps)` teacher forcing with its own Adam (SeqGAN: lr 0.01);
D trains against G's samples during the last `d_pretrain_steps` of them so that its first
rewards mean something; then the adversarial phase with the platform's optimizers. `mle` keeps
teacher forcing throughout (the baseline the benchmarks compare against).

DDP: these objectives call the generator's helper methods (teacher forcing, rollouts,
Gumbel sampling) on the bare module, which DDP's hooks never see; the step therefore averages
the gradients across workers itself (`_sync_grads`), so multi-worker training stays in sync.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ganforge.modalities.sequence.config import SequenceModel
from ganforge.modalities.sequence.token_nets import TokenDiscriminator, TokenGenerator, sample_tokens
from ganforge.platform.gan import AdversarialStep, GanNets, discriminator_loss, generator_loss
from ganforge.platform.gan.batch import Batch, samples_of

Tensor = torch.Tensor


def sync_grads(module: nn.Module) -> None:
    """Averages gradients over workers (no-op when training on one)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    for p in module.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= dist.get_world_size()


def worker_mean(value: Tensor) -> float:
    """`value` averaged over workers, so that every worker takes the same branch on it."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= dist.get_world_size()
    return float(value)


def clip(module: nn.Module, max_norm: float | None) -> Tensor:
    params = [p for p in module.parameters() if p.grad is not None]
    return torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm is not None else float("inf"))


class TokenStep(AdversarialStep):
    """MLE, then `seqgan` or `gumbel` updates; see the module docstring."""

    def __init__(self, job: Any, nets: GanNets, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                 device: torch.device) -> None:  # fmt: skip
        super().__init__(job.gan, nets, opt_g, opt_d, device)
        model: SequenceModel = job.model
        self.model = model
        self.method = model.method
        self.adversarial_steps = max(job.train.steps - model.pretrain_steps - 1, 1)  # last step: max
        self.opt_mle = torch.optim.Adam(nets.g_module.parameters(), lr=model.pretrain_lr)
        self.step_index = 0

    @property
    def g(self) -> TokenGenerator:
        return self.nets.g_module  # type: ignore[return-value]

    @property
    def d(self) -> TokenDiscriminator:
        return self.nets.d_module  # type: ignore[return-value]

    def pretraining(self) -> bool:
        return self.method == "mle" or self.step_index < self.model.pretrain_steps

    def temperature(self) -> float:
        """RelGAN's inverse temperature beta, from 1 to temperature_max over the adversarial phase."""
        progress = min(max(self.step_index - self.model.pretrain_steps, 0) / self.adversarial_steps, 1.0)
        top = self.model.temperature_max
        if self.model.temperature_schedule == "exp":
            return top**progress
        if self.model.temperature_schedule == "linear":
            return 1 + (top - 1) * progress
        return top

    def start_step(self, step: int) -> None:
        self.step_index = step

    def state_dict(self) -> dict[str, Any]:
        return {"opt_mle": self.opt_mle.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "opt_mle" in state:
            self.opt_mle.load_state_dict(state["opt_mle"])

    # -- D --
    def discriminator_step(self, real: Batch, z: Tensor, d_step_index: int) -> dict[str, Tensor]:
        if self.method == "mle":
            return {}
        if self.pretraining() and self.step_index < self.model.pretrain_steps - self.model.d_pretrain_steps:
            return {}
        real_ids = samples_of(real)
        with torch.no_grad():
            if self.method == "gumbel" and not self.pretraining():
                # D sees the same soft one-hots the G step will show it.
                _, fake = self.g.gumbel_sample(len(real_ids), self.temperature())
            else:
                fake = self.g(z)
        d_real, d_fake = self.d(real_ids), self.d(fake)
        loss = discriminator_loss(self.cfg.loss, d_real, d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        sync_grads(self.d)
        grad_norm = clip(self.d, self.cfg.grad_clip)
        self.opt_d.step()
        return {"loss_d": loss.detach(), "grad_norm_d": grad_norm, "d_real": d_real.detach().mean(),
                "d_fake": d_fake.detach().mean()}  # fmt: skip

    # -- G --
    def generator_step(self, z: Tensor, real: Batch | None = None) -> dict[str, Tensor]:
        assert real is not None, "the token objective needs the real batch"
        real_ids = samples_of(real)
        if self.pretraining():
            return self._update(self.opt_mle, self.g.nll(real_ids), {}, clip_at=5.0)
        self.d.requires_grad_(False)
        try:
            if self.method == "seqgan":
                loss, stats = self._policy_gradient(len(real_ids))
            else:
                loss, stats = self._gumbel(len(real_ids))
        finally:
            self.d.requires_grad_(True)
        if self.model.mle_weight > 0:
            mle = self.g.nll(real_ids)
            stats["mle_loss"] = mle.detach()
            loss = loss + self.model.mle_weight * mle
        return self._update(self.opt_g, loss, stats, clip_at=self.cfg.grad_clip)

    def _update(self, opt: torch.optim.Optimizer, loss: Tensor, stats: dict[str, Tensor],
                clip_at: float | None) -> dict[str, Tensor]:  # fmt: skip
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sync_grads(self.g)
        stats["grad_norm_g"] = clip(self.g, clip_at)
        opt.step()
        stats["loss_g"] = loss.detach()
        return stats

    def _gumbel(self, n: int) -> tuple[Tensor, dict[str, Tensor]]:
        beta = self.temperature()
        _, soft = self.g.gumbel_sample(n, beta)
        loss = generator_loss(self.cfg.loss, self.d(soft))
        return loss, {"temperature": torch.tensor(beta)}

    @torch.no_grad()
    def rewards(self, tokens: Tensor) -> Tensor:
        """SeqGAN rewards (n, T): for each prefix, D's mean P(real) over Monte-Carlo completions."""
        n, length = tokens.shape
        k = self.model.rollouts
        was_training = self.d.training
        self.d.eval()  # no dropout noise in the rewards
        rewards = torch.empty(n, length, device=tokens.device)
        for t, (h, c) in enumerate(self.g.states_along(tokens), start=1):
            rows = tokens.repeat(k, 1)  # k completions of every prefix of length t
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

    def _policy_gradient(self, n: int) -> tuple[Tensor, dict[str, Tensor]]:
        with torch.no_grad():
            tokens = self.g.sample(n)
        rewards = self.rewards(tokens)
        log_probs = F.log_softmax(self.g.teacher_logits(tokens), dim=-1)
        chosen = log_probs.gather(2, tokens.unsqueeze(2)).squeeze(2)
        # REINFORCE on the sampled tokens, weighted by their rewards (SeqGAN has no baseline).
        loss = -(chosen * rewards).mean()
        return loss, {"reward": rewards.mean()}
