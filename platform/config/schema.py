"""Typed, frozen job configuration. Every field says what it holds; ranges are checked here.

A modality narrows `data` and `model` to its own config models (see `job_config_type`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Probability = Annotated[float, Field(ge=0.0, lt=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
PositiveInt = Annotated[int, Field(ge=1)]


class StrictModel(BaseModel):
    """Base of every config section: unknown keys refused, instances immutable, and every float
    finite (`.inf` and `.nan` are refused wherever a float is expected, e.g. a learning rate)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class JobSection(StrictModel):
    """Base a modality's `data` or `model` config may use to check itself against the whole job.

    Each section is validated on its own; rules that join two sections (a packed discriminator
    needs a batch size that `pack` divides) go in `check_job`, which JobConfig calls once every
    section is valid: at load time, before anything starts.
    """

    def check_job(self, job: JobConfig) -> None:
        """Raises ValueError, naming both keys and their values, where this section does not fit `job`."""


def check_pack_divides_batch(pack: int, job: JobConfig, items: str) -> None:
    """Refuses a PacGAN `model.pack` that does not divide the batch: D judges the batch in packs
    of `pack` `items` (samples, clips), so a remainder would have no pack to join."""
    if job.train.batch_size % pack:
        raise ValueError(
            f"model.pack = {pack} does not divide train.batch_size = {job.train.batch_size} "
            f"(D judges the batch in packs of that many {items})"
        )


class OptimizerConfig(StrictModel):
    """Adam settings for one network (G and D each have their own: TTUR)."""

    lr: PositiveFloat = 2e-4
    betas: tuple[Probability, Probability] = (0.5, 0.999)
    weight_decay: NonNegativeFloat = 0.0


class EmaConfig(StrictModel):
    """Exponential moving average of the generator's weights; metrics use the EMA copy."""

    enabled: bool = True
    decay: Probability = 0.999
    """The final averaging weight per G step (0.999: a half-life of 693 steps)."""
    rampup: Annotated[float, Field(gt=0.0, le=1.0)] | None = 0.05
    """The half-life grows as rampup × steps done until it reaches decay's (StyleGAN2-ADA: 0.05),
    so the EMA follows G closely early and never averages over more than that share of training.
    None: decay from the first step."""


class LrDecayConfig(StrictModel):
    """Learning-rate decay of every optimizer the objective owns, as a factor on its configured lr.

    The factor is 1 until `start` × `steps`, then falls to `final` at `steps` (linearly or along a
    half cosine) and stays there. It is a function of the step alone, so a resumed run continues
    the same schedule.
    """

    kind: Literal["none", "linear", "cosine"] = "none"
    start: Probability = 0.0
    """The share of `steps` trained at the full learning rate before the decay begins."""
    final: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    """The factor reached at `steps` (0: down to zero)."""
    steps: PositiveInt | None = None
    """The G step where the decay ends (None: train.steps). A wall-clock budget run whose
    train.steps is out of reach sets it to the steps it expects to make."""


class AdaConfig(StrictModel):
    """Adaptive discriminator augmentation (Karras et al. 2020, StyleGAN2-ADA).

    Reals and fakes pass through the modality's augment ops, each applied per sample with
    probability p, before D sees them (in the D and the G step, so G's gradient flows through
    them). p is steered by D's overfitting signal r_t = E[sign(D(real))]: every `interval` D
    steps it moves by sign(r_t - target) x (images seen in those steps, all workers) / speed_images.
    """

    enabled: bool = False
    target: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.6
    """The r_t that p steers toward: above it D is judged to overfit and p rises (ADA: 0.6)."""
    interval: PositiveInt = 4
    """D steps between two updates of p; r_t is averaged over them and over workers (ADA: 4)."""
    speed_images: PositiveInt = 500_000
    """Real images (summed over workers) over which p can move from 0 to 1 (ADA: ada_kimg = 500)."""
    p_max: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """Upper bound on p. ADA leaves it at 1; lower it (e.g. 0.8) if augmentations leak into samples."""


class GanConfig(StrictModel):
    """The adversarial objective and its stabilisers, shared by every modality."""

    loss: Literal["non_saturating", "hinge", "wasserstein", "least_squares"] = "non_saturating"
    gradient_penalty: NonNegativeFloat = 0.0
    """Weight of the WGAN-GP penalty on D's gradient norm at real/fake interpolates (0: off)."""
    r1_gamma: NonNegativeFloat = 0.0
    """Weight of the R1 penalty on D's gradient at real samples (0: off)."""
    r1_every: PositiveInt = 16
    """Lazy regularisation: R1 is applied every k D steps, scaled by k."""
    spectral_norm: bool = False
    """Wrap every linear and convolution layer of D in spectral normalisation."""
    n_critic: PositiveInt = 1
    """D steps per G step."""
    g_opt: OptimizerConfig = OptimizerConfig()
    d_opt: OptimizerConfig = OptimizerConfig()
    ema: EmaConfig = EmaConfig()
    ada: AdaConfig = AdaConfig()
    """Adaptive augmentation of D's inputs; the ops come from the modality (`augment_ops`)."""
    lr_decay: LrDecayConfig = LrDecayConfig()
    grad_clip: PositiveFloat | None = None
    """Clip each network's total gradient norm to this value (None: no clipping)."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """bf16 runs forward passes under torch.autocast; weights and optimizer states stay fp32."""


class TrainConfig(StrictModel):
    """How long, how wide and how often."""

    steps: PositiveInt = 2000
    """Generator steps."""
    batch_size: PositiveInt = 64
    """Per-worker batch size."""
    seed: Annotated[int, Field(ge=0)] = 0
    workers: PositiveInt = 1
    """Data-parallel width (Ray Train workers)."""
    runner: Literal["ray", "local"] = "ray"
    """`ray`: Ray Train TorchTrainer; `local`: the same loop in this process."""
    use_gpu: bool = False
    cpus_per_worker: PositiveInt = 1
    """CPUs Ray reserves for each worker (Ray sets the worker's torch thread count from it); a
    local run sets this process's torch thread count from it too, for the run only."""
    checkpoint_every: PositiveInt = 500
    keep_checkpoints: PositiveInt = 3
    """How many of the latest checkpoints a run keeps; older ones are deleted, the final one always
    stays. The local runner prunes its folder; Ray Train gets it as `CheckpointConfig(num_to_keep)`."""
    log_every: PositiveInt = 50
    sample_every: Annotated[int, Field(ge=0)] = 500
    """Write a sample artifact every k steps (0: only at the end)."""
    resource_wait_s: PositiveFloat = 600.0
    """On an autoscaling Ray cluster, how long a job the cluster cannot hold yet waits for the
    autoscaler to add nodes (saying so on one line) before it is refused. A fixed cluster refuses
    such a job at once."""
    max_failures: Annotated[int, Field(ge=0)] = 3
    """Times Ray Train restarts the workers from the latest checkpoint after a failure."""
    storage_path: str | None = None
    """Where Ray Train keeps checkpoints (default: <GANFORGE_HOME>/ray). An s3://bucket/prefix path
    uses tracking.s3_endpoint_url (or MLFLOW_S3_ENDPOINT_URL) as the endpoint: MinIO works too."""
    eval_every: Annotated[int, Field(ge=0)] = 0
    """Also compute the modality's metrics every k steps (0: only at the end). Evaluation runs at
    checkpoint reports, so k must be a multiple of checkpoint_every. Shipped configs size it to
    cost under 5% of the run (benchmarks/RESULTS.md); sweeps set it to their report interval so
    schedulers (ASHA, PBT) can compare trials."""
    best_metric: str | None = None
    """The metric that ranks this run's evaluations (default: the modality's ranking metric,
    `quality` for the shipped ones); its direction is the metric's own. The best evaluation so far
    tags the run `ganforge.best_step` and `ganforge.best.<metric>`."""
    keep_best: bool = True
    """Also keep the checkpoint of the best evaluation so far, in a `best/` folder beside the
    run's checkpoints that keep_checkpoints never prunes (run tag `ganforge.best_checkpoint`).
    On by default: GAN quality often peaks before the last step, and the copy costs one
    checkpoint's disk and a copy only when an evaluation improves."""


class TrackingConfig(StrictModel):
    """MLflow settings; unset values fall back to MLFLOW_* environment variables, then local files."""

    enabled: bool = True
    uri: str | None = None
    experiment: str = "ganforge"
    model_name: str | None = None
    """Registered model name for the EMA generator (default: the job name)."""
    register_model: bool = True
    artifact_location: str | None = None
    """Artifact root of the experiment when ganforge creates it, e.g. s3://bucket/prefix (clients then
    upload to S3 directly with AWS_* credentials). Unset: the server's default (proxied) location."""
    s3_endpoint_url: str | None = None
    """S3 endpoint for direct artifact access (MinIO, the local endpoint); default MLFLOW_S3_ENDPOINT_URL.
    Credentials are never config values: boto3 reads AWS_* variables or its credential files."""


class JobConfig(StrictModel):
    """One training job. `data` and `model` are the modality's own config models."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    modality: str
    data: StrictModel
    model: StrictModel
    gan: GanConfig = GanConfig()
    train: TrainConfig = TrainConfig()
    tracking: TrackingConfig = TrackingConfig()

    @model_validator(mode="after")
    def _evaluations_at_checkpoints(self) -> JobConfig:
        every, checkpoint_every = self.train.eval_every, self.train.checkpoint_every
        if every % checkpoint_every:
            # The loop evaluates at checkpoint reports: any other k would silently evaluate less.
            raise ValueError(
                f"train.eval_every = {every} must be a multiple of train.checkpoint_every = "
                f"{checkpoint_every} (evaluation runs at checkpoints; 0: only at the end)"
            )
        return self

    @model_validator(mode="after")
    def _sections_fit(self) -> JobConfig:
        for section in (self.data, self.model):
            if isinstance(section, JobSection):
                section.check_job(self)
        return self

    @property
    def model_name(self) -> str:
        """The registered model name, defaulting to the job name."""
        return self.tracking.model_name or self.name

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain JSON-able data (round-trips through `load_job_dict`)."""
        return self.model_dump(mode="json")
