"""Structured configs: the types and checks of every config group that the runner itself reads.

Registered with Hydra's ConfigStore as `schema`, which `conf/config.yaml` puts first in its
defaults list, so a value of the wrong type or a key that does not exist fails at composition,
before anything is built. Model, dataset-loader and optimizer options are typed by their own
dataclasses next to their builders and checked by `runner.resolve` when the job starts.
No TensorFlow here: the CLI validates overrides with these before importing it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional, Sequence

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig
from omegaconf.errors import ValidationError

from adl_runner.kernel.errors import ConfigError, require_one_of
from adl_runner.kernel.hooks import SampleConfig
from adl_runner.kernel.specs import capped


class Task(str, Enum):
    train = "train"
    evaluate = "evaluate"
    export = "export"
    sample = "sample"
    predict = "predict"


class ExportFormat(str, Enum):
    tf_saved_model = "tf_saved_model"
    onnx = "onnx"
    litert = "litert"


class Split(str, Enum):
    train = "train"
    test = "test"


class LabelEncoding(str, Enum):
    onehot = "onehot"
    sparse = "sparse"


@dataclass
class PathsConfig:
    root_dir: str = "."
    """Project root; relative run dirs are made under `output_dir`."""
    data_dir: str = "data"
    """Folder laid out like shared/datasets (mnist/mnist.npz, fashion-mnist/, cifar10/, drinks/)."""
    output_dir: str = "outputs"
    """Where run dirs and sweep dirs are created."""


@dataclass
class DatasetConfig:
    name: str = "mnist"
    """Registered dataset name (see `run --help`)."""
    labels: LabelEncoding = LabelEncoding.onehot
    """onehot for categorical_crossentropy (the book), sparse for sparse_categorical_crossentropy."""
    augment: bool = False
    """Random horizontal flip and +-10% shifts with nearest fill (the book's CIFAR ImageDataGenerator)."""
    subtract_pixel_mean: bool = False
    """Subtract the per-pixel mean of the training images from train and test (book ResNet)."""
    sigma: Optional[float] = None
    """Denoising inputs: add N(noise_mean, sigma) noise, clipped to [0,1]; targets stay clean."""
    noise_mean: float = 0.5
    """Mean of the input noise (the book: 0.5)."""
    noise_seed: int = 1337
    """Seed of the input noise, fixed per example (the book: np.random.seed(1337))."""
    gray_input: bool = False
    """Colorization inputs: the luminance 0.299R + 0.587G + 0.114B of the RGB targets."""
    train_limit: Optional[int] = None
    """Use only the first N training examples (None: all)."""
    test_limit: Optional[int] = None
    """Use only the first N test examples (None: all)."""
    validation: Optional[int] = None
    """Hold out N training examples (a fixed random choice, the same for every seed) to validate on
    after every epoch and to pick best.keras by; the test split is then only measured at the end.
    None: validate on the test split, as the book does (its 'validation data' is the test set)."""
    verify_checksums: bool = True
    """Check known files against their published checksums before reading them."""
    download: bool = False
    """Allow downloading missing files from their upstream URLs (off: offline-first)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Loader-specific options, typed by the loader (e.g. cifar10: variant=auto|full|subset)."""

    def __post_init__(self) -> None:
        if self.sigma is not None and self.sigma < 0:
            raise ConfigError(f"dataset.sigma must be >= 0, got {self.sigma}")
        for key in ("train_limit", "test_limit", "validation"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"dataset.{key} must be a positive integer or null, got {value}")


@dataclass
class CheckpointConfig:
    monitor: str = "val_accuracy"
    """Metric that decides the best checkpoint."""
    mode: str = "max"
    """max or min: which direction of `monitor` is better."""
    keep: int = 0
    """Also keep the last `keep` checkpoints as checkpoints/step-<N>.keras (TF's max_to_keep; the
    oldest is deleted); 0: none, only last, previous and best."""

    def __post_init__(self) -> None:
        if self.mode not in ("max", "min"):
            raise ConfigError(f"trainer.checkpoint.mode must be 'max' or 'min', got '{self.mode}'")
        if self.keep < 0:
            raise ConfigError(f"trainer.checkpoint.keep must be >= 0 (0: no step-numbered copies), got {self.keep}")


@dataclass
class LRScheduleConfig:
    """No boundaries (the default): a constant learning rate."""

    boundaries: list[int] = field(default_factory=list)
    """Epoch indices (0-based) after which the next factor applies: factor k for epoch > boundaries[k-1]."""
    factors: list[float] = field(default_factory=lambda: [1.0])
    """Multipliers of optimizer.learning_rate; one more than boundaries."""

    def __post_init__(self) -> None:
        if len(self.factors) != len(self.boundaries) + 1:
            raise ConfigError(
                f"trainer.lr_schedule needs one more factor than boundaries, got "
                f"{len(self.factors)} factors for {len(self.boundaries)} boundaries"
            )
        if list(self.boundaries) != sorted(self.boundaries):
            raise ConfigError(f"trainer.lr_schedule.boundaries must increase, got {list(self.boundaries)}")


@dataclass
class PlateauConfig:
    enabled: bool = False
    """Reduce the learning rate when `monitor` stops improving (ReduceLROnPlateau)."""
    monitor: str = "val_loss"
    """Metric watched for a plateau."""
    factor: float = 0.31622776601683794
    """Multiply the learning rate by this on a plateau (book: sqrt(0.1))."""
    patience: int = 5
    """Epochs without improvement before reducing."""
    cooldown: int = 0
    """Epochs to wait after a reduction before watching again."""
    min_lr: float = 5e-7
    """Lower bound of the learning rate."""
    book_compat: bool = False
    """The book's callback order let the step schedule overwrite each plateau reduction at the next
    epoch start (so reductions lasted one epoch). False: reductions persist and multiply the schedule."""

    def __post_init__(self) -> None:
        if not 0 < self.factor < 1:
            raise ConfigError(f"trainer.plateau.factor must be in (0, 1), got {self.factor}")
        if self.patience < 0 or self.cooldown < 0:
            raise ConfigError("trainer.plateau.patience and cooldown must be >= 0")


@dataclass
class QualityConfig:
    """Sample-quality numbers measured during training, for models that register a `quality`
    hook (the GANs on MNIST-shaped data: MNIST-FID and label-control accuracy)."""

    every: int = 1
    """Measure every N checkpoint intervals (also at the first interval of each invocation and at
    the last); 0: never."""
    samples: int = 2000
    """Generated images per measurement. MNIST-FID is biased upwards for small samples: compare
    values measured on the same number of images."""
    cache_dir: Optional[str] = None
    """Where the judge (an MNIST classifier the runner trains once) is cached; None:
    <user cache dir>/judges (kernel.cachedir: ADL_RUNNER_CACHE_DIR, else the platform's cache folder)."""

    def __post_init__(self) -> None:
        if self.every < 0:
            raise ConfigError(f"trainer.quality.every must be >= 0 (0: never), got {self.every}")
        if self.samples < 10:
            raise ConfigError(f"trainer.quality.samples must be >= 10, got {self.samples}")


@dataclass
class NanRecoveryConfig:
    """What `trainer.nan_policy=recover` does when the loss stops being finite."""

    max_trials: int = 3
    """Roll-backs allowed in one invocation; the next NaN after the last one ends the run."""
    lr_factor: float = 0.1
    """Each roll-back multiplies the learning rate (and any schedule) by this."""

    def __post_init__(self) -> None:
        if self.max_trials < 1:
            raise ConfigError(f"trainer.nan_recovery.max_trials must be >= 1, got {self.max_trials}")
        if not 0 < self.lr_factor < 1:
            raise ConfigError(f"trainer.nan_recovery.lr_factor must be in (0, 1), got {self.lr_factor}")


@dataclass
class BudgetCaps:
    """Upper bounds on the budgets of a run, whatever its model's preset says, so that one preset
    (debug=smoke) makes any model's run short; None: no bound. A model's own pre-training phase is a
    budget the runner does not know, so it is bounded by the family, told `pretrain_epochs`."""

    steps: Optional[int] = None
    """Training steps of a step-based run (the checkpoint interval is at most this too)."""
    episodes: Optional[int] = None
    """Training and evaluation episodes of an episode-loop run, and the interval between its checkpoints."""
    pretrain_epochs: Optional[int] = None
    """Epochs of a family's first phase (StackedGAN's encoder, the policy gradients' state autoencoder)."""

    def __post_init__(self) -> None:
        for key in ("steps", "episodes", "pretrain_epochs"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"trainer.caps.{key} must be a positive integer or null (no cap), got {value}")


@dataclass
class TrainerConfig:
    epochs: int = 20
    """Training epochs."""
    batch_size: int = 128
    """Examples per step; episode-loop models: DQN's replay batch, the policy gradients' autoencoder batch."""
    validate: bool = True
    """Evaluate on the test split after every epoch (the book's 'validation data' is the test set)."""
    steps_per_epoch: Optional[int] = None
    """Batches per epoch (None: one pass over the training split). With `steps`: the interval
    between checkpoints and progress grids (the book's GAN save_interval, 500)."""
    steps: Optional[int] = None
    """Step-based training (GANs): this many training steps in all, as steps // steps_per_epoch
    "epochs" of steps_per_epoch steps each; it replaces `epochs`. Raising it on a finished run
    continues that run (see `continued_after`)."""
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    """Best-checkpoint selection."""
    lr_schedule: LRScheduleConfig = field(default_factory=LRScheduleConfig)
    """Step learning-rate schedule (book ResNet/DenseNet); no boundaries: constant."""
    plateau: PlateauConfig = field(default_factory=PlateauConfig)
    """ReduceLROnPlateau (plateau.enabled=true)."""
    quality: QualityConfig = field(default_factory=QualityConfig)
    """Generated-sample quality during training (GANs)."""
    evaluate_train: bool = True
    """After training, also evaluate on the training split in inference mode (train_eval_* metrics):
    what the book's 'train accuracy' columns report."""
    deterministic: bool = False
    """Deterministic TF ops (slower): same seed, same weights."""
    jit_compile: str = "auto"
    """XLA: auto (Keras: on for GPU, off for CPU), true or false. On the project's CPU XLA made the
    MLP, CNN and DCGAN steps 2.7-6.8x slower (docs/performance.md, `make bench`'s xla case)."""
    verbose: str = "auto"
    """Progress output: auto (a bar on a terminal, one line per epoch otherwise), bar, line or none."""
    nan_policy: str = "stop"
    """On a NaN/Inf loss: stop (end with the epoch and step, keep the last good checkpoint) or
    recover (roll back to the last good checkpoint, lower the learning rate, go on)."""
    nan_recovery: NanRecoveryConfig = field(default_factory=NanRecoveryConfig)
    """How often `recover` may roll back, and by how much it lowers the learning rate."""
    loss_bound: Optional[float] = None
    """Upper bound on every training loss the runner watches (`loss`, a GAN's `d_loss`/`g_loss`, an
    agent's `loss`), as TF Model Garden's `loss_upper_bound`: a finite loss above it counts as
    divergence exactly like NaN/Inf: fit runs check the epoch's running mean (what Keras logs)
    after every step, and stop or roll back as `nan_policy` says; episode-loop runs check each
    episode's mean loss and stop. None (the default): no bound, only NaN/Inf."""
    episodes: Optional[int] = None
    """Episode-loop models (env=...): training episodes; None: the agent's book value for the env."""
    eval_episodes: int = 100
    """Episode-loop models: greedy episodes measured after training and by task=evaluate."""
    checkpoint_every: int = 10
    """Episode-loop models: save checkpoints/last every this many episodes (and at the end)."""
    caps: BudgetCaps = field(default_factory=BudgetCaps)
    """Upper bounds on steps, episodes and pre-training (debug=smoke sets them)."""

    def __post_init__(self) -> None:
        self._apply_caps()
        if self.epochs < 1:
            raise ConfigError(f"trainer.epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"trainer.batch_size must be >= 1, got {self.batch_size}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ConfigError(f"trainer.steps_per_epoch must be >= 1 or null, got {self.steps_per_epoch}")
        if self.steps is not None:
            self._derive_epochs_from_steps()
        require_one_of("trainer.jit_compile", self.jit_compile, ("auto", "true", "false"), also=("True", "False"))
        for key in ("episodes", "eval_episodes", "checkpoint_every"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"trainer.{key} must be a positive integer{' or null' if key == 'episodes' else ''}, got {value}")
        require_one_of("trainer.verbose", self.verbose, ("auto", "bar", "line", "none"))
        require_one_of("trainer.nan_policy", self.nan_policy, ("stop", "recover"))
        if self.loss_bound is not None and not self.loss_bound > 0:  # `not >`: NaN fails too
            raise ConfigError(f"trainer.loss_bound must be > 0 (or null: no bound), got {self.loss_bound}")


    def _derive_epochs_from_steps(self) -> None:
        steps = self.steps
        if steps is None or steps < 1:
            raise ConfigError(f"trainer.steps must be >= 1 or null, got {steps}")
        if self.steps_per_epoch is None:
            raise ConfigError("trainer.steps needs trainer.steps_per_epoch, the interval between checkpoints and grids (e.g. 500)")
        interval = min(self.steps_per_epoch, steps)  # a short run is one interval
        if steps % interval:
            raise ConfigError(
                f"trainer.steps={steps} is not a multiple of trainer.steps_per_epoch={interval} (the checkpoint "
                f"interval); use e.g. trainer.steps={steps - steps % interval or interval}"
            )
        self.steps_per_epoch, self.epochs = interval, steps // interval

    def _apply_caps(self) -> None:
        if self.steps is not None:
            self.steps = capped(self.steps, self.caps.steps)
        if self.episodes is not None:
            self.episodes = capped(self.episodes, self.caps.episodes)
        self.eval_episodes = capped(self.eval_episodes, self.caps.episodes)
        self.checkpoint_every = capped(self.checkpoint_every, self.caps.episodes)

    @property
    def budget(self) -> tuple[str, int]:
        """A fit run's budget in its own unit: ("steps", steps) when step-based, else ("epochs", epochs)."""
        return ("steps", self.steps) if self.steps is not None else ("epochs", self.epochs)

    def episode_budget(self, agent_default: int) -> int:
        """Training episodes: `episodes`, else the agent's book value for its env, within the cap."""
        return capped(self.episodes or agent_default, self.caps.episodes)

    def continued_after(self, interval_done: int) -> TrainerConfig:
        """This step budget, continuing a run checkpointed every `interval_done` steps.

        The run's checkpoints lie on its own interval's boundaries, which need not be this budget's
        (60 steps done in one interval of 60, raised to 80: one interval of 80). The interval then
        shrinks to the largest that divides both, gcd(80, 60) = 20, so that every checkpoint of the
        run is a boundary of the continuation, which starts exactly at the last one and ends exactly
        at `steps` (epochs 4, resumed after 3).
        """
        if self.steps is None or interval_done % self.steps_per_epoch == 0:
            return self
        return dataclasses.replace(self, steps_per_epoch=math.gcd(self.steps_per_epoch, interval_done))


@dataclass
class LoggerConfig:
    tensorboard: bool = True
    """Write TensorBoard event files under <run>/tensorboard."""
    plots: bool = True
    """Write training-curve PNGs at the end."""
    summary: bool = True
    """Write model_summary.txt (the layer table with parameter counts)."""


@dataclass
class ExportConfig:
    """task=export: what is written under the run dir's export/ (runner/serving)."""

    format: ExportFormat = ExportFormat.tf_saved_model
    """tf_saved_model (TF Serving), onnx or litert (optional extras: pip install 'adl-runner[onnx]')."""
    name: Optional[str] = None
    """The served model's name, export/<name>/<version>/; None: the model family's name."""
    version: Optional[int] = None
    """The version folder; None: one above the highest already there (1 for the first)."""
    batch: int = 16
    """Test images (or noise draws) the reloaded export is compared on with the Keras model."""
    tolerance: float = 1e-3
    """The largest absolute difference allowed between the export and the Keras model; above it
    nothing is kept."""

    def __post_init__(self) -> None:
        if self.version is not None and self.version < 1:
            raise ConfigError(f"export.version must be a positive integer (TF Serving's version folder), got {self.version}")
        if self.batch < 1:
            raise ConfigError(f"export.batch must be >= 1, got {self.batch}")


@dataclass
class Config:
    seed: int = 42
    """Seed for Python, NumPy and TensorFlow."""
    task: Task = Task.train
    """train; evaluate, sample, export or predict (need ckpt; export: a SavedModel for serving;
    predict: the model on your own files, `image=`)."""
    ckpt: Optional[str] = None
    """A .keras checkpoint (or the run dir holding it) for evaluate/sample/export/predict."""
    image: Optional[str] = None
    """task=predict: an image file, or a folder of images; a family with no training loop (otsu,
    watershed, ...): the image it segments (its default: scikit-image's coins)."""
    split: Split = Split.test
    """The split task=evaluate measures: test, or train (in inference mode: no dropout, no augmentation)."""
    sample: Any = field(default_factory=lambda: DictConfig(dataclasses.asdict(SampleConfig()), flags={"struct": False}))
    """What task=sample draws from a generative model's checkpoint: typed by the family's
    `FitSpec.sample_options` in `resolve`. Open (not struct) here, since the family is known only
    after composition (a checkpoint's run names it) and may add keys (InfoGAN's sample.code1)."""
    paths: PathsConfig = field(default_factory=PathsConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    optimizer: dict[str, Any] = field(default_factory=dict)
    """Typed by the optimizer's options dataclass (runner.optim)."""
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    model: dict[str, Any] = field(default_factory=dict)
    """Typed by the model's options dataclass, next to its builder."""
    env: Optional[dict[str, Any]] = None
    """The environment of an episode-loop model (env=qworld|frozenlake|...); typed by its options dataclass."""
    export: ExportConfig = field(default_factory=ExportConfig)
    """task=export: format, name, version, verification."""
    gif: bool = False
    """task=evaluate of an episode-loop checkpoint: also write episode.gif (one greedy episode, rgb_array)."""
    table: Optional[Any] = None
    """A book table (experiment/book/*): its rows and the book's numbers."""


def scalar_for_list(exc: BaseException, example: Any, where: str = "") -> str | None:
    """The one-line error when OmegaConf refused a scalar for a list-typed key, None for any other
    error. OmegaConf's own ("AnyNode is not a ListConfig, list or tuple") names neither the value
    nor what is expected. `example`: a valid value (the key's default), shown if it is a non-empty
    list; `where`: the prefix of the key OmegaConf names (`model` for a model's options)."""
    if not isinstance(exc, ValidationError) or "is not a ListConfig" not in str(exc):
        return None
    key = f"{where}.{exc.full_key}" if where else exc.full_key
    listed = isinstance(example, Sequence) and not isinstance(example, str) and len(example) > 0
    shown = f"[{','.join(str(item) for item in example)}]" if listed else "[1,2]"
    return f"{key} expects a list such as {shown}, got {exc.value}"


def register_schema() -> None:
    """Make `schema` available to the defaults list of conf/config.yaml."""
    ConfigStore.instance().store(name="schema", node=Config)
