"""The token objectives: MLE pre-training, then SeqGAN policy gradient or Gumbel-softmax (RelGAN).

Phases by G step: `[0, pretrain_steps)` teacher forcing with its own optimizer, `mle`
(model.mle_opt; SeqGAN: Adam 0.01, gradient norm clipped at 5); D trains against G's samples
during the last `d_pretrain_steps` of them so that its first rewards mean something; then the
adversarial phase steps `generator` (gan.g_opt). `mle` keeps teacher forcing throughout (the
baseline the benchmarks compare against) and never trains D.

DDP: these objectives call the generator's helper methods (teacher forcing, rollouts, Gumbel
sampling) on the bare module, which DDP's hooks never see; gradients are therefore averaged by
the objective's updates (`sync_manually`), so multi-worker training stays in sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import torch
import torch.nn.functional as F

from ganforge.modalities.tokens.config import TokenModel
from ganforge.modalities.tokens.nets import TokenDiscriminator, TokenGenerator, sample_tokens
from ganforge.modalities.tokens.start import load_carried_optimizers
from ganforge.platform.gan import GanNets, Objective, OptimizerSpec, discriminator_loss, generator_loss
from ganforge.platform.gan.batch import Batch, samples_of
from ganforge.platform.gan.objective import frozen, gan_optimizer_specs

if TYPE_CHECKING:
    from ganforge.platform.config.schema import JobConfig

Tensor = torch.Tensor
MLE_CLIP = 5.0  # SeqGAN clips the pre-training gradient norm at 5
ROLLOUT_ELEMENTS = 2**21
"""Rows x vocabulary of one rollout sampling call (at least k n rows): all prefixes' rows at once
while their softmax stays cache-sized (8 MB, e.g. character vocabularies), else chunks. One core,
shipped oracle_seqgan (vocabulary 5,000, 19 x 512 rows): the prefix loop 1.68 s per G step; all
rows at once 4.01 s (the (rows, 5000) softmax and cumsum leave the cache); 419-row chunks 1.78 s
(benchmarks/tokens_pg_step.py). At that vocabulary the sampling, not Python, sets the time."""


class MleObjective(Objective):
    """Teacher forcing only: the maximum-likelihood baseline (D is built but never trained)."""

    name: ClassVar[str] = "mle"
    supports: ClassVar[frozenset[str]] = frozenset()
    sync_manually: ClassVar[bool] = True
    carried_optimizers: ClassVar[tuple[str, ...]] = ("mle",)  # a job started from this one continues its MLE

    def setup(self) -> None:
        # A registered start (or checkpoint folder) hands over its MLE Adam state with G's weights;
        # resuming this job's own checkpoint later overwrites both.
        if self.model.init_generator is not None:
            configs = {name: spec.config for name, spec in self.specs.items()}
            load_carried_optimizers(
                self.model.init_generator, self.optimizers, configs, self.carried_optimizers
            )

    @classmethod
    def optimizer_specs(cls, job: JobConfig, nets: GanNets) -> dict[str, OptimizerSpec]:
        model: TokenModel = job.model  # type: ignore[assignment]
        return {"mle": OptimizerSpec(tuple(nets.g_module.parameters()), model.mle_opt, MLE_CLIP)}

    @property
    def model(self) -> TokenModel:
        return self.job.model  # type: ignore[return-value]

    @property
    def g(self) -> TokenGenerator:
        return self.nets.g_module  # type: ignore[return-value]

    @property
    def d(self) -> TokenDiscriminator:
        return self.nets.d_module  # type: ignore[return-value]

    def discriminator_step(self, real: Batch, z: Tensor, d_step_index: int) -> dict[str, Tensor]:
        return {}

    def generator_step(self, z: Tensor, real: Batch) -> dict[str, Tensor]:
        return self._mle_step(samples_of(real))

    def _mle_step(self, real_ids: Tensor) -> dict[str, Tensor]:
        loss = self.g.nll(real_ids)
        return {"grad_norm_g": self.update("mle", loss), "loss_g": loss.detach()}


class _AdversarialTokens(MleObjective):
    """MLE pre-training, D pre-training at its end, then the adversarial generator updates."""

    supports: ClassVar[frozenset[str]] = frozenset({"loss", "g_opt", "d_opt", "grad_clip"})

    @classmethod
    def optimizer_specs(cls, job: JobConfig, nets: GanNets) -> dict[str, OptimizerSpec]:
        return {**super().optimizer_specs(job, nets), **gan_optimizer_specs(job, nets)}

    def pretraining(self) -> bool:
        return self.step_index < self.model.pretrain_steps

    def adversarial_progress(self) -> float:
        """0 at the first adversarial step, 1 at the last one."""
        span = max(self.job.train.steps - self.model.pretrain_steps - 1, 1)
        return min(max(self.step_index - self.model.pretrain_steps, 0) / span, 1.0)

    def fakes_for_d(self, z: Tensor, n: int) -> Tensor:
        """What D is shown as fake: token ids (SeqGAN, and while pre-training)."""
        return self.g(z)

    def discriminator_step(self, real: Batch, z: Tensor, d_step_index: int) -> dict[str, Tensor]:
        if self.pretraining() and self.step_index < self.model.pretrain_steps - self.model.d_pretrain_steps:
            return {}
        real_ids = samples_of(real)
        with torch.no_grad():
            fake = self.fakes_for_d(z, len(real_ids))
        d_real, d_fake = self.d(real_ids), self.d(fake)
        loss = discriminator_loss(self.cfg.loss, d_real, d_fake)
        return {"loss_d": loss.detach(), "grad_norm_d": self.update("discriminator", loss),
                "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}  # fmt: skip

    def generator_step(self, z: Tensor, real: Batch) -> dict[str, Tensor]:
        real_ids = samples_of(real)
        if self.pretraining():
            return self._mle_step(real_ids)
        with frozen(self.d):
            loss, stats = self.adversarial_loss(len(real_ids))
        if self.model.mle_weight > 0:
            mle = self.g.nll(real_ids)
            stats["mle_loss"] = mle.detach()
            loss = loss + self.model.mle_weight * mle
        stats["grad_norm_g"] = self.update("generator", loss)
        stats["loss_g"] = loss.detach()
        return stats

    def adversarial_loss(self, n: int) -> tuple[Tensor, dict[str, Tensor]]:
        raise NotImplementedError


class SeqGanObjective(_AdversarialTokens):
    """REINFORCE on sampled sequences, rewarded by D through Monte-Carlo rollouts (SeqGAN)."""

    name: ClassVar[str] = "seqgan"

    @torch.no_grad()
    def rewards(self, tokens: Tensor) -> Tensor:
        """SeqGAN rewards (n, T): for each prefix, D's mean P(real) over Monte-Carlo completions.

        All prefixes roll out in one pass: the rows of prefix length t (k copies of the batch)
        join the running batch at position t, from G's state along the real prefix, so position
        p steps every row whose prefix is at most p long together: T - 1 recurrent steps in all
        (in cache-sized chunks, ROLLOUT_ELEMENTS), where a loop over prefix lengths takes
        T (T - 1) / 2 steps of k n rows each.
        """
        n, length = tokens.shape
        k, block = self.model.rollouts, self.model.rollouts * len(tokens)
        chunk = max(ROLLOUT_ELEMENTS // self.g.vocab_size, block)  # never smaller than the loop's batches
        was_training = self.d.training
        self.d.eval()  # no dropout noise in the rewards
        # Blocks by prefix length, longest first: the rows running at position p are a suffix.
        rows = tokens.repeat((length - 1) * k, 1)
        starts = self.g.states_along(tokens)  # G's state after each real prefix
        h = starts[0][0].new_empty(len(rows), starts[0][0].shape[1])  # every row's recurrent state
        c = torch.empty_like(h)
        x = h.new_empty(len(rows), self.g.embedding.embedding_dim)  # every row's next input
        for position in range(1, length):
            first = (length - 1 - position) * block  # the block of prefix length `position` joins
            joining = slice(first, first + block)
            h[joining], c[joining] = (part.repeat(k, 1) for part in starts[position - 1])
            x[joining] = self.g.embedding(tokens[:, position - 1]).repeat(k, 1)
            for a in range(first, len(rows), chunk):
                b = a + chunk
                logits, (h[a:b], c[a:b]) = self.g.step(x[a:b], (h[a:b], c[a:b]))
                rows[a:b, position] = sample_tokens(logits)
                x[a:b] = self.g.embedding(rows[a:b, position])
        scores = torch.cat([torch.sigmoid(self.d(chunk)) for chunk in rows.split(8 * block)])
        rewards = torch.empty(n, length, device=tokens.device)
        # Block i holds prefix length T - 1 - i: flip to put prefix length 1 first.
        rewards[:, :-1] = scores.view(length - 1, k, n).mean(dim=1).flip(0).T
        rewards[:, -1] = torch.sigmoid(self.d(tokens))
        self.d.train(was_training)
        return rewards

    def adversarial_loss(self, n: int) -> tuple[Tensor, dict[str, Tensor]]:
        with torch.no_grad():
            tokens = self.g.sample(n)
        rewards = self.rewards(tokens)
        log_probs = F.log_softmax(self.g.teacher_logits(tokens), dim=-1)
        chosen = log_probs.gather(2, tokens.unsqueeze(2)).squeeze(2)
        # REINFORCE on the sampled tokens, weighted by their rewards (SeqGAN has no baseline).
        loss = -(chosen * rewards).mean()
        return loss, {"reward": rewards.mean()}


class GumbelObjective(_AdversarialTokens):
    """Soft one-hot samples through the Gumbel-softmax, annealed in temperature (RelGAN)."""

    name: ClassVar[str] = "gumbel"

    def temperature(self) -> float:
        """RelGAN's inverse temperature beta, from 1 to temperature_max over the adversarial phase."""
        progress, top = self.adversarial_progress(), self.model.temperature_max
        if self.model.temperature_schedule == "exp":
            return top**progress
        if self.model.temperature_schedule == "linear":
            return 1 + (top - 1) * progress
        return top

    def fakes_for_d(self, z: Tensor, n: int) -> Tensor:
        if self.pretraining():
            return self.g(z)
        _, soft = self.g.gumbel_sample(n, self.temperature())  # D sees what the G step shows it
        return soft

    def adversarial_loss(self, n: int) -> tuple[Tensor, dict[str, Tensor]]:
        beta = self.temperature()
        _, soft = self.g.gumbel_sample(n, beta)
        loss = generator_loss(self.cfg.loss, self.d(soft))
        return loss, {"temperature": torch.tensor(beta)}


OBJECTIVES: dict[str, type[MleObjective]] = {
    "mle": MleObjective,
    "seqgan": SeqGanObjective,
    "gumbel": GumbelObjective,
}
