"""Objectives: what one training step optimises, and with which optimizers.

An objective (StyleGAN3's "loss with phases", generalised) declares its optimizers as
`name -> OptimizerSpec(parameters, OptimizerConfig)` and the `gan.*` options it honours. The
platform owns everything else about the optimizers: the loop creates them from the specs,
checkpoints and restores them by name and, after a restore, re-applies the specs' settings (so a
PBT/PB2 exploit that mutated a learning rate keeps the mutation for *every* optimizer). An update
clips the gradient norm of that optimizer's own parameters only.

The standard adversarial step is `AdversarialObjective` (platform/gan/step.py); a modality adds
its own (SeqGAN's policy gradient, TimeGAN's phases) by subclassing `Objective`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.distributed as dist
from torch import nn

from ganforge.platform.gan.ada import AugmentOp
from ganforge.platform.gan.batch import Batch

if TYPE_CHECKING:  # the config package imports the modality registry, which imports this
    from ganforge.platform.config.schema import GanConfig, JobConfig, OptimizerConfig

Tensor = torch.Tensor

ALWAYS_HONOURED = frozenset({"ema", "n_critic", "spectral_norm", "lr_decay"})
"""gan.* options the platform applies whatever the objective: EMA of G, D steps per G step
(the loop's), spectral norm on D's layers (added when D is built), the decay of every
optimizer's learning rate (the loop's)."""


@dataclass
class GanNets:
    """The networks of one worker: the trained ones (maybe DDP-wrapped) and their modules."""

    generator: nn.Module
    discriminator: nn.Module
    g_module: nn.Module
    d_module: nn.Module


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer an objective needs: the parameters it updates and its settings."""

    parameters: tuple[nn.Parameter, ...]
    config: OptimizerConfig
    clip: float | None = None
    """Clip the gradient norm of these parameters to this value before each step (None: never)."""


def gan_optimizer_specs(job: JobConfig, nets: GanNets) -> dict[str, OptimizerSpec]:
    """The usual pair: `generator` (gan.g_opt) over G and `discriminator` (gan.d_opt) over D."""
    gan = job.gan
    return {
        "generator": OptimizerSpec(tuple(nets.g_module.parameters()), gan.g_opt, gan.grad_clip),
        "discriminator": OptimizerSpec(tuple(nets.d_module.parameters()), gan.d_opt, gan.grad_clip),
    }


def make_optimizer(spec: OptimizerSpec) -> torch.optim.Optimizer:
    cfg = spec.config
    return torch.optim.Adam(spec.parameters, cfg.lr, tuple(cfg.betas), weight_decay=cfg.weight_decay)


def apply_config(optimizer: torch.optim.Optimizer, cfg: OptimizerConfig) -> None:
    """Sets the config's lr, betas and weight decay on every parameter group."""
    for group in optimizer.param_groups:
        group.update(lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)


def sync_grads(parameters: Iterable[nn.Parameter]) -> None:
    """Averages gradients over workers (no-op on one). For objectives that call sub-networks
    directly, which DDP's hooks never see."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    for p in parameters:
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


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """`modules` take no parameter gradients inside the block: a loss still backpropagates
    through them to what feeds them (G through D), but their weight gradients, which the
    update at hand would throw away, are not computed."""
    for module in modules:
        module.requires_grad_(False)
    try:
        yield
    finally:
        for module in modules:
            module.requires_grad_(True)


class Objective(ABC):
    """One family of training steps. The loop calls, per G step: `start_step`, `n_critic` times
    `discriminator_step`, then `generator_step`. Returned stats are tensors (no host sync)."""

    name: ClassVar[str]
    supports: ClassVar[frozenset[str]]
    """The gan.* options this objective honours besides ALWAYS_HONOURED; a job that sets another
    one to a non-default value is refused at validation."""
    sync_manually: ClassVar[bool] = False
    """True when the objective calls sub-networks directly, so DDP does not average gradients."""
    carried_optimizers: ClassVar[tuple[str, ...]] = ()
    """Optimizers whose state a later job that starts from this job's registered generator takes
    over with its weights (the tokens MLE phase's Adam); stored with the run (gan/handoff.py)."""

    def __init__(
        self,
        job: JobConfig,
        nets: GanNets,
        optimizers: Mapping[str, torch.optim.Optimizer],
        device: torch.device,
        augment_ops: Sequence[AugmentOp] = (),
    ) -> None:
        self.job = job
        self.cfg: GanConfig = job.gan
        self.nets = nets
        self.specs = self.optimizer_specs(job, nets)
        self.optimizers = dict(optimizers)
        self.device = device
        self.augment_ops = tuple(augment_ops)
        """The modality's ops for adaptive augmentation (used where the objective honours gan.ada)."""
        self.step_index = 0
        self.setup()

    def setup(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Builds what this objective keeps besides nets and optimizers (e.g. an ADA controller)."""

    @classmethod
    @abstractmethod
    def optimizer_specs(cls, job: JobConfig, nets: GanNets) -> dict[str, OptimizerSpec]:
        """The optimizers this objective steps, by name (their settings come from `job`)."""

    @classmethod
    def honours(cls) -> frozenset[str]:
        return ALWAYS_HONOURED | cls.supports

    def start_step(self, step: int) -> None:
        """Called before the D steps of G step `step` (0-based): phases and schedules key on it."""
        self.step_index = step

    def state_dict(self) -> dict[str, Any]:
        """State of the objective beyond its optimizers (which the loop saves), for checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what `state_dict` returned."""
        del state  # nothing beyond the optimizers by default

    @abstractmethod
    def discriminator_step(self, real: Batch, z: Tensor, d_step_index: int) -> dict[str, Tensor]:
        """One D update on a real batch and fakes from latents `z` (may do nothing in a phase)."""

    @abstractmethod
    def generator_step(self, z: Tensor, real: Batch) -> dict[str, Tensor]:
        """One G update; `real` is the last real batch the D steps saw."""

    def autocast(self) -> AbstractContextManager:
        if self.cfg.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def update(self, name: str, loss: Tensor) -> Tensor:
        """Backward `loss` into optimizer `name`'s parameters, clip their norm, step; returns the norm.

        Only that optimizer's parameters are zeroed, measured and clipped: gradients the loss
        leaves in other networks are zeroed by their own update before they are used.
        """
        optimizer, spec = self.optimizers[name], self.specs[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.sync_manually:
            sync_grads(spec.parameters)
        params = [p for p in spec.parameters if p.grad is not None]
        max_norm = spec.clip if spec.clip is not None else float("inf")
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        optimizer.step()
        return norm


def build_optimizers(specs: Mapping[str, OptimizerSpec]) -> dict[str, torch.optim.Optimizer]:
    return {name: make_optimizer(spec) for name, spec in specs.items()}


def optimizer_states(optimizers: Mapping[str, torch.optim.Optimizer]) -> dict[str, Any]:
    return {name: optimizer.state_dict() for name, optimizer in optimizers.items()}


def restore_optimizers(
    optimizers: Mapping[str, torch.optim.Optimizer],
    specs: Mapping[str, OptimizerSpec],
    states: Mapping[str, Any],
) -> None:
    """Loads every optimizer's state, then re-applies its spec: the config, not the checkpoint,
    decides hyperparameters (a PBT/PB2 exploit restores a donor's state and then mutates them)."""
    missing = sorted(set(optimizers) - set(states))
    if missing:
        raise KeyError(f"the checkpoint has no state for optimizer(s) {', '.join(missing)}")
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(states[name])
        apply_config(optimizer, specs[name].config)


def unsupported_options(objective: type[Objective], gan: GanConfig) -> list[str]:
    """gan.* keys set to a non-default value that `objective` would silently ignore."""
    honoured = objective.honours()
    defaults = type(gan).model_fields
    return [
        name
        for name in defaults
        if name not in honoured
        and getattr(gan, name) != defaults[name].get_default(call_default_factory=True)
    ]
