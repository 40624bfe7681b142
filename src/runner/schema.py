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

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.hooks import SampleConfig
from adl_runner.kernel.ranges import check_ranges, ranged
from adl_runner.kernel.specs import capped

SEED_MAX = 2**32 - 1
"""NumPy's seeds are 32-bit."""


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
    root_dir: str = ranged(".", nonempty=True)
    """Project root; relative run dirs are made under `output_dir`."""
    data_dir: str = ranged("data", nonempty=True)
    """Folder laid out like shared/datasets (mnist/mnist.npz, fashion-mnist/, cifar10/, drinks/)."""
    output_dir: str = ranged("outputs", nonempty=True)
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
    sigma: Optional[float] = ranged(None, at_least=0)
    """Denoising inputs: add N(noise_mean, sigma) noise, clipped to [0,1]; targets stay clean."""
    noise_mean: float = 0.5
    """Mean of the input noise (the book: 0.5)."""
    noise_seed: int = ranged(1337, at_least=0, at_most=SEED_MAX)
    """Seed of the input noise, fixed per example (the book: np.random.seed(1337))."""
    gray_input: bool = False
    """Colorization inputs: the luminance 0.299R + 0.587G + 0.114B of the RGB targets."""
    train_limit: Optional[int] = ranged(None, at_least=1)
    """Use only the first N training examples (None: all)."""
    test_limit: Optional[int] = ranged(None, at_least=1)
    """Use only the first N test examples (None: all)."""
    sampling: str = ranged("epochs", choices=("epochs", "replacement"))
    """How training batches draw examples: epochs (each pass a seeded permutation of the training
    split) or replacement (each batch drawn uniformly with replacement, Pattanayak's Listing 6-4;
    the `masks` input kind only). Either is a function of (seed, step): resumable."""
    validation: Optional[int] = ranged(None, at_least=1)
    """Hold out N training examples (a fixed random choice, the same for every seed) to validate on
    after every epoch and to pick best.keras by; the test split is then only measured at the end.
    None: validate on the test split, as the book does (its 'validation data' is the test set)."""
    verify_checksums: bool = True
    """Check known files against their published checksums before reading them."""
    download: bool = False
    """Allow downloading missing files from their upstream URLs (off: offline-first)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Loader-specific options, typed by the loader (e.g. cifar10: variant=auto|full|subset), and
    the options of the model's input kind (views: crop, rotation, ...; runner/input_options.py)."""
    rho: Optional[float] = ranged(None, above=-1, below=1, why="a correlation; +-1 has infinite mutual information")
    """dataset=gaussian's correlation, in (-1, 1): `dataset.rho` is its loader option `rho`, written
    where the book's scripts put it (a dataset without that option refuses it)."""

    def __post_init__(self) -> None:
        check_ranges(self, "dataset")  # at composition: the CLI refuses a bad value before Hydra starts


@dataclass
class CheckpointConfig:
    monitor: str = ranged("val_accuracy", nonempty=True)
    """Metric that decides the best checkpoint."""
    mode: str = ranged("max", choices=("max", "min"))
    """max or min: which direction of `monitor` is better."""
    keep: int = ranged(0, at_least=0, at_most=1000)
    """Also keep the last `keep` checkpoints as checkpoints/step-<N>.keras (TF's max_to_keep; the
    oldest is deleted); 0: none, only last, previous and best."""


@dataclass
class LRScheduleConfig:
    """No boundaries (the default): a constant learning rate."""

    boundaries: list[int] = ranged(default_factory=list, at_least=0)
    """Epoch indices (0-based) after which the next factor applies: factor k for epoch > boundaries[k-1]."""
    factors: list[float] = ranged(default_factory=lambda: [1.0], above=0)
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
    monitor: str = ranged("val_loss", nonempty=True)
    """Metric watched for a plateau."""
    factor: float = ranged(0.31622776601683794, above=0, below=1)
    """Multiply the learning rate by this on a plateau (book: sqrt(0.1))."""
    patience: int = ranged(5, at_least=0)
    """Epochs without improvement before reducing."""
    cooldown: int = ranged(0, at_least=0)
    """Epochs to wait after a reduction before watching again."""
    min_lr: float = ranged(5e-7, at_least=0)
    """Lower bound of the learning rate."""
    book_compat: bool = False
    """The book's callback order [checkpoint, reducer, scheduler]: the step schedule set the rate
    at every epoch start, overwriting a reduction made at the previous epoch end before any step
    used it, so in the book the plateau reducer never acted. False: reductions persist and
    multiply the schedule."""


@dataclass
class QualityConfig:
    """Sample-quality numbers measured during training, for models that register a `quality`
    hook (the GANs on MNIST-shaped data: MNIST-FID and label-control accuracy)."""

    every: int = ranged(1, at_least=0)
    """Measure every N checkpoint intervals (also at the first interval of each invocation and at
    the last); 0: never."""
    samples: int = ranged(2000, at_least=10, at_most=100_000, why="generated images held in memory at once")
    """Generated images per measurement. MNIST-FID is biased upwards for small samples: compare
    values measured on the same number of images."""
    cache_dir: Optional[str] = None
    """Where the judge (an MNIST classifier the runner trains once) is cached; None:
    <user cache dir>/judges (kernel.cachedir: ADL_RUNNER_CACHE_DIR, else the platform's cache folder)."""


@dataclass
class NanRecoveryConfig:
    """What `trainer.nan_policy=recover` does when the loss stops being finite."""

    max_trials: int = ranged(3, at_least=1)
    """Roll-backs allowed in one invocation; the next NaN after the last one ends the run."""
    lr_factor: float = ranged(0.1, above=0, below=1)
    """Each roll-back multiplies the learning rate (and any schedule) by this."""


@dataclass
class BudgetCaps:
    """Upper bounds on the budgets of a run, whatever its model's preset says, so that one preset
    (debug=smoke) makes any model's run short; None: no bound. A model's own pre-training phase is a
    budget the runner does not know, so it is bounded by the family, told `pretrain_epochs`."""

    steps: Optional[int] = ranged(None, at_least=1)
    """Training steps of a step-based run (the checkpoint interval is at most this too)."""
    episodes: Optional[int] = ranged(None, at_least=1)
    """Training and evaluation episodes of an episode-loop run, and the interval between its checkpoints."""
    pretrain_epochs: Optional[int] = ranged(None, at_least=1)
    """Epochs of a family's first phase (StackedGAN's encoder, the policy gradients' state autoencoder)."""


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
"""trainer.precision's values: Keras dtype policies."""
MULTI_WORKER_REFUSAL = (
    "trainer.strategy=multi_worker is not supported: MultiWorkerMirroredStrategy with Keras 3's fit fails "
    "(keras-team/keras#20585; Keras points to its JAX backend's keras.distribution for several hosts); run one job "
    "per host or GPU with a job-level launcher instead (docs/scaling.md); valid: none, mirrored")


@dataclass
class TrainerConfig:
    epochs: int = ranged(20, at_least=1, at_most=1_000_000)
    """Training epochs."""
    batch_size: int = ranged(128, at_least=1, at_most=65_536, why="one batch must fit in memory")
    """Examples per step; episode-loop models: DQN's replay batch, the policy gradients' autoencoder batch."""
    validate: bool = True
    """Evaluate on the test split after every epoch (the book's 'validation data' is the test set)."""
    steps_per_epoch: Optional[int] = ranged(None, at_least=1)
    """Batches per epoch (None: one pass over the training split). With `steps`: the interval
    between checkpoints and progress grids (the book's GAN save_interval, 500)."""
    steps: Optional[int] = ranged(None, at_least=1)
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
    test_examples: Optional[int] = ranged(None, at_least=1)
    """After training, evaluate (test_* metrics) on the first N test examples, in whole batches; None:
    the whole test split. The GAN presets set 2000: their test-set losses are diagnostics the book
    does not report, and 10,000 examples cost more than a 100-step interval of training."""
    deterministic: bool = False
    """Deterministic TF ops (slower): same seed, same weights."""
    jit_compile: str = ranged("auto", choices=("auto", "true", "false", "True", "False"))
    """XLA: auto (Keras: on for GPU, off for CPU), true or false. On the project's CPU XLA made the
    MLP, CNN and DCGAN steps 2.7-6.8x slower (docs/performance.md, `make bench`'s xla case)."""
    verbose: str = ranged("auto", choices=("auto", "bar", "line", "none"))
    """Progress output: auto (a bar on a terminal, one line per epoch otherwise), bar, line or none."""
    strategy: str = ranged("none", choices=("none", "mirrored"))
    """Fit-loop families: none (one device) or mirrored (tf.distribute.MirroredStrategy over this
    host's GPUs, else its logical CPUs; trainer.batch_size is the global batch). multi_worker is
    refused (docs/scaling.md)."""
    precision: str = ranged("float32", choices=PRECISIONS)
    """Fit-loop families: float32, mixed_float16 (with loss scaling) or mixed_bfloat16; the models'
    output layers stay float32."""
    nan_policy: str = ranged("stop", choices=("stop", "recover"))
    """On a NaN/Inf loss: stop (end with the epoch and step, keep the last good checkpoint) or
    recover (roll back to the last good checkpoint, lower the learning rate, go on)."""
    nan_recovery: NanRecoveryConfig = field(default_factory=NanRecoveryConfig)
    """How often `recover` may roll back, and by how much it lowers the learning rate."""
    loss_bound: Optional[float] = ranged(None, above=0)
    """Upper bound on every training loss the runner watches (`loss`, a GAN's `d_loss`/`g_loss`, an
    agent's `loss`), as TF Model Garden's `loss_upper_bound`: a finite loss above it counts as
    divergence exactly like NaN/Inf: fit runs check the epoch's running mean (what Keras logs)
    after every step, and stop or roll back as `nan_policy` says; episode-loop runs check each
    episode's mean loss and stop. None (the default): no bound, only NaN/Inf."""
    episodes: Optional[int] = ranged(None, at_least=1)
    """Episode-loop models (env=...): training episodes; None: the agent's book value for the env."""
    eval_episodes: int = ranged(100, at_least=1)
    """Episode-loop models: greedy episodes measured after training and by task=evaluate."""
    checkpoint_every: int = ranged(10, at_least=1)
    """Episode-loop models: save checkpoints/last every this many episodes (and at the end)."""
    caps: BudgetCaps = field(default_factory=BudgetCaps)
    """Upper bounds on steps, episodes and pre-training (debug=smoke sets them)."""

    def __post_init__(self) -> None:
        if self.strategy == "multi_worker":  # its own line: why, and what to use instead
            raise ConfigError(MULTI_WORKER_REFUSAL)
        check_ranges(self, "trainer")  # every field and nested group, before anything is derived from them
        self._apply_caps()
        if self.steps is not None:
            self._derive_epochs_from_steps()

    def _derive_epochs_from_steps(self) -> None:
        steps = self.steps
        assert steps is not None  # called only when set, and check_ranges saw it >= 1
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
class TensorBoardConfig:
    """`logger=[tensorboard]` (the default): event files under <run>/tensorboard (runner.tracking)."""

    hparams: bool = True
    """Also write the run's hyperparameters for TensorBoard's HParams dashboard."""


@dataclass
class MLflowConfig:
    """`logger=mlflow` (the optional extra `mlflow`): a run in a local MLflow store (runner.tracking)."""

    tracking_uri: str = "sqlite:///outputs/mlflow.db"
    """Where runs are recorded: a SQLite file (a relative path is taken from the working directory)
    or a tracking server's URL."""
    experiment: str = "adl-runner"
    """The MLflow experiment the run belongs to (created on first use)."""
    artifact_location: Optional[str] = None
    """Where a new experiment keeps its runs' files (figures, the model); None: MLflow's default."""
    log_model: bool = True
    """Also copy the trained model (best.keras, else last.keras, or an agent's checkpoint) at the end."""


TRACKERS = {"tensorboard": TensorBoardConfig, "mlflow": MLflowConfig}
"""The `logger` list's choices (conf/logger/<name>.yaml) and the settings each reads."""


@dataclass
class LoggerConfig:
    tensorboard: Any = None
    """TensorBoard's settings (TensorBoardConfig), set when the `logger` list holds tensorboard;
    `logger.tensorboard=false` turns it off (typed by `runner.resolve`)."""
    mlflow: Any = None
    """MLflow's settings (MLflowConfig), set when the `logger` list holds mlflow."""
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
    max_detections: int = ranged(100, at_least=1, at_most=100_000)
    """A detector's boxes per image: its outputs are padded (or cut) to this many, best first."""

    def __post_init__(self) -> None:
        if self.version is not None and self.version < 1:
            raise ConfigError(f"export.version must be a positive integer (TF Serving's version folder), got {self.version}")
        if self.batch < 1:
            raise ConfigError(f"export.batch must be >= 1, got {self.batch}")


@dataclass
class EvaluateConfig:
    """How a model is scored: by task=evaluate on a checkpoint, and at the end of a training run."""

    bn_recalibrate: int = ranged(0, at_least=0)
    """Before scoring, re-estimate every BatchNormalization layer's moving mean and variance from
    this many batches of the training split (spread evenly over it, in inference view: no
    augmentation), each batch counting equally (torch's momentum=None); 0: score with the moving
    averages training left, which lag the weights after a short run (momentum 0.99). The saved
    checkpoints keep the trained statistics: the recalibrated ones are used for this scoring only."""


@dataclass
class Config:
    seed: int = ranged(42, at_least=0, at_most=SEED_MAX)
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
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    """How the model is scored (task=evaluate, and the end of training)."""
    gif: bool = False
    """task=evaluate of an episode-loop checkpoint: also write episode.gif (one greedy episode, rgb_array)."""
    table: Optional[Any] = None
    """A book table (experiment/book/*): its rows and the book's numbers."""
    comparison: Optional[Any] = None
    """A comparison preset (experiment/gan/*, experiment/seeds/*): its record set's name, title, source,
    label keys, metrics, targets, claims and figures, read from the records by `run-report seeds-doc`
    (reports/seeds_doc.py); never read by a run."""
    optimized_metric: Optional[str] = None
    """A metrics.json key the job returns as a float: what an Optuna search (hparams_search=...) optimises."""


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
