"""Typed family specs: what a family tells the runner when it registers, checked at import.

One spec type per training loop. A family registers its builder with one of them:

    @MODELS.register("cnn", FitSpec(options=CNNOptions, view="image"))
    def build_cnn(opts: CNNOptions, ctx: BuildContext) -> keras.Model: ...

A misspelt field is a TypeError when the module is imported (dataclass keywords), and
`__post_init__` checks every value, so a hook cannot be silently switched off by a typo. Builders
get one `BuildContext` (seed, input spec, class count): no family reads global random state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Optional

from adl_runner.kernel.hooks import ArtifactSink, SampleConfig

VIEWS = ("flat", "image", "sequence")
"""How the fit pipeline shapes images for a model: (N, H*W*C), (N, H, W, C), or (N, H, W*C) rows."""
OBJECTIVES = ("classify", "reconstruct", "self", "self_conditional")
"""What a fit family learns: labels; its input (or a target view of it); or from its own step."""
LOOPS = ("fit", "episodes", "none")
SOURCES = ("labels", "pairs", "boxes", "masks", "synthetic")
"""What a dataset loader yields (`DatasetSpec.source`) and what an input kind reads
(`InputKindSpec.sources`): labelled images (ArraySplits), two unpaired image domains (PairedSplits),
images with labelled boxes (BoxSplits), images with class masks (MaskSplits), or a stateless
draw (SyntheticSource)."""


@dataclass(frozen=True)
class BuildContext:
    """What a fit family's builder gets besides its options."""

    seed: int
    """The job's seed: a family seeds its own generators from it (never NumPy's global state)."""
    input_shape: tuple[int, ...]
    """One example's shape as the model sees it (after the view)."""
    num_classes: int
    """Classes of the dataset (labels, conditional generation)."""
    class_names: tuple[str, ...] = ()
    """Their names, when the dataset has them (a detector draws and lists them)."""
    pretrain_epochs_cap: Optional[int] = None
    """An upper bound on the epochs of the family's own first phase (`prepare`), set by the runner
    for a short run (debug=smoke); None: the family's own value."""


def capped(budget: int, cap: Optional[int]) -> int:
    """`budget`, lowered to `cap` when one is set (the runner's trainer.caps.*)."""
    return budget if cap is None else min(budget, cap)


def _check_options(kind: str, options: Any) -> None:
    if options is not None and not (isinstance(options, type) and dataclasses.is_dataclass(options)):
        raise TypeError(f"{kind}.options must be a dataclass type (the family's typed options), got {options!r}")


def _check_hooks(kind: str, spec: Any, names: tuple[str, ...]) -> None:
    for name in names:
        hook = getattr(spec, name)
        if hook is not None and not callable(hook):
            raise TypeError(f"{kind}.{name} must be callable or None, got {hook!r}")


@dataclass(frozen=True)
class FitSpec:
    """A family trained by Keras `fit` on a dataset (classifiers, autoencoders, VAEs, GANs)."""

    loop: ClassVar[str] = "fit"
    does: ClassVar[str] = "trains on a dataset"

    options: Optional[type]
    """The options dataclass of the `model` config node."""
    view: str
    """One of VIEWS."""
    inputs: int = 1
    """How many copies of the image the model takes (the Y-network: 2)."""
    objective: str = "classify"
    """One of OBJECTIVES."""
    loss: Optional[Any] = None
    """The Keras loss of a `reconstruct` family (e.g. "mse"), or a classifier's other than the
    categorical cross-entropy: a loss name or a `keras.losses.Loss` (saved with the checkpoint)."""
    two_domains: bool = False
    """Batches are (source, target) pairs of two unpaired image domains (CycleGAN)."""
    input_kind: Optional[str] = None
    """The input kind (`data/inputs/`: boxes, masks, views, ...) that turns the dataset into this
    model's batches, which reach the model as the kind makes them (SSD: `(images, {"boxes",
    "classes"})`); None: the array pipeline chosen by view/objective (or `two_domains`). A dataset
    that yields another source than the kind reads is refused when the job is resolved."""
    batches_per_step: Optional[Callable[[Any], int]] = None
    """options -> real batches one training step consumes (WGAN's n_critic); None: one."""
    prepare: Optional[Callable[..., None]] = None
    """(model, DataView, PhaseRunner) -> None: once on a freshly built model before training (never on
    a resume from a training checkpoint); a pre-training `fit` goes through the PhaseRunner (kernel.phases)."""
    snapshot: Optional[Callable[..., Any]] = None
    """(model, ArtifactSink, step) -> None: at every checkpoint of a step-based run (progress grids)."""
    artifacts: Optional[Callable[..., Any]] = None
    """(model, DataView, ArtifactSink) -> None: figures written after training."""
    sample: Optional[Callable[..., Any]] = None
    """(model, sample options, ArtifactSink) -> paths: task=sample."""
    predict: Optional[Callable[..., Any]] = None
    """(model, image files, ArtifactSink) -> summary: task=predict on a user's own images."""
    serve: Optional[Callable[..., Any]] = None
    """(model, kernel.serving.ServeData, kernel.serving.ServeOptions) -> [kernel.serving.Endpoint]:
    task=export of a family whose served form is its own (a GAN's generator, a VAE's encoder and
    decoder, a detector's boxes after NMS); None: the runner's endpoints for its objective, if it
    has any."""
    for_inference: Optional[Callable[..., Any]] = None
    """(model, options) -> None: before evaluate or predict on a checkpoint, the command's
    inference-time options reach the loaded model (a detector's NMS settings); it refuses options
    that the checkpoint fixed (how offsets are encoded)."""
    inference_options: tuple[str, ...] = ()
    """The model options a task on a checkpoint may set (a detector's NMS thresholds); any other
    `model.<key>=` that differs from the checkpoint's run is refused in one line, not ignored."""
    sample_options: type[SampleConfig] = SampleConfig
    """The dataclass typing the `sample` config node: SampleConfig, or a subclass adding the
    family's own controls (InfoGAN's code1/code2)."""
    evaluators: tuple[str, ...] = ()
    """Names of registered evaluators (kernel.evaluators) measured during training (every
    `trainer.quality.every` checkpoints), into metrics.json, and by task=evaluate of a generator."""

    def __post_init__(self) -> None:
        _check_options("FitSpec", self.options)
        if self.view not in VIEWS:
            raise TypeError(f"FitSpec.view must be one of {', '.join(VIEWS)}, got {self.view!r}")
        if self.objective not in OBJECTIVES:
            raise TypeError(f"FitSpec.objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.inputs < 1:
            raise TypeError(f"FitSpec.inputs must be >= 1, got {self.inputs}")
        if self.input_kind is not None and (not isinstance(self.input_kind, str) or self.two_domains):
            raise TypeError(f"FitSpec.input_kind must be an input kind's name and excludes two_domains "
                            f"(the 'pairs' kind is two domains), got {self.input_kind!r}")
        _check_hooks("FitSpec", self, ("batches_per_step", "prepare", "snapshot", "artifacts", "sample", "predict", "serve", "for_inference"))
        if not (isinstance(self.sample_options, type) and issubclass(self.sample_options, SampleConfig)
                and dataclasses.is_dataclass(self.sample_options)):
            raise TypeError(f"FitSpec.sample_options must be a dataclass subclass of SampleConfig, got {self.sample_options!r}")
        if isinstance(self.evaluators, str) or not all(isinstance(name, str) for name in self.evaluators):
            raise TypeError(f"FitSpec.evaluators must be a tuple of evaluator names, got {self.evaluators!r}")

    def reads(self) -> tuple[str, ...]:
        """The config groups the runner reads for this family (besides model, seed, task, paths)."""
        return ("dataset", "optimizer", "trainer", "logger")

    def steps_batches(self, options: Any) -> int:
        """Real batches one training step consumes."""
        return 1 if self.batches_per_step is None else int(self.batches_per_step(options))


@dataclass(frozen=True)
class EpisodeSpec:
    """A reinforcement-learning agent trained episode by episode in an environment."""

    loop: ClassVar[str] = "episodes"
    does: ClassVar[str] = "acts in an environment"

    options: Optional[type]
    """The options dataclass of the `model` config node."""
    accepts: Optional[Callable[[Any, Any], Optional[str]]] = None
    """(options, env) -> None, or why this agent cannot run on that env."""
    uses_optimizer: bool = False
    """The agent's networks train with the `optimizer` config (DQN, the policy gradients), which the
    runner passes as `AgentContext.optimizer`; False: it trains no network (tabular Q-learning), and
    `optimizer=` on its command line is refused. `trainer.batch_size` reaches every agent as
    `AgentContext.batch_size`."""

    def __post_init__(self) -> None:
        _check_options("EpisodeSpec", self.options)
        _check_hooks("EpisodeSpec", self, ("accepts",))

    def reads(self) -> tuple[str, ...]:
        """The config groups the runner reads for this family (besides model, seed, task, paths)."""
        return ("env", *(("optimizer",) if self.uses_optimizer else ()), "trainer", "logger")


@dataclass(frozen=True)
class RunContext:
    """What a no-loop family's `run(options, ctx)` gets: it computes once and writes its figures."""

    seed: int
    """The job's seed, for any randomness (K-means initialisation, say)."""
    data_dir: Path
    """The data dir, for families that read a dataset's files."""
    out: ArtifactSink
    """Where its figures go."""
    image: Optional[Path] = None
    """The command's `image=`: the file the family works on; None: its own default input (the
    classical segmentations use scikit-image's `coins`)."""


@dataclass(frozen=True)
class NoneSpec:
    """A family with no training loop (classical segmentation, say): one computation per run.

    Its builder is `run(options, RunContext) -> {metric: value}`."""

    loop: ClassVar[str] = "none"
    does: ClassVar[str] = "has no training loop"

    options: Optional[type]
    """The options dataclass of the `model` config node."""

    def __post_init__(self) -> None:
        _check_options("NoneSpec", self.options)

    def reads(self) -> tuple[str, ...]:
        """The config groups the runner reads for this family (besides model, seed, task, paths)."""
        return ("logger",)


FamilySpec = FitSpec | EpisodeSpec | NoneSpec


@dataclass(frozen=True)
class OptionsSpec:
    """A builder whose whole contract is its typed options (the base of the specs below)."""

    options: Optional[type]
    """The options dataclass of its config node."""

    def __post_init__(self) -> None:
        _check_options(type(self).__name__, self.options)


def _check_sources(kind: str, sources: tuple[str, ...]) -> None:
    if isinstance(sources, str) or not sources or any(source not in SOURCES for source in sources):
        raise TypeError(f"{kind} must name sources among {', '.join(SOURCES)}, got {sources!r}")


@dataclass(frozen=True)
class DatasetSpec(OptionsSpec):
    """A dataset loader: `load(store, options) -> splits`."""

    source: str = "labels"
    """What the loader yields, one of SOURCES: "labels" (ArraySplits), "pairs" (two unpaired image
    domains, CycleGAN), "boxes" (drinks, synthetic_boxes), ... A model is refused a dataset whose
    source its pipeline cannot read (`runner.resolve`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_sources("DatasetSpec.source", (self.source,))

    @property
    def paired(self) -> bool:
        """It yields two unpaired image domains (CycleGAN), not labelled examples."""
        return self.source == "pairs"


@dataclass(frozen=True)
class EnvSpec(OptionsSpec):
    """An environment: `build(options, render_mode) -> EnvHandle`."""


@dataclass(frozen=True)
class OptimizerSpec(OptionsSpec):
    """An optimizer: `build(options) -> keras.optimizers.Optimizer`."""


@dataclass(frozen=True)
class InputKindSpec(OptionsSpec):
    """An input kind (data/inputs/): `build(source, options, kind_options) -> pipeline`."""

    sources: tuple[str, ...] = ("labels",)
    """The dataset sources (SOURCES) it reads."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_sources("InputKindSpec.sources", self.sources)


@dataclass(frozen=True)
class EvaluatorSpec:
    """A dataset-wide metric: `evaluate(model, data, context) -> {metric: value}`."""

    summary: str
    """What it measures, in one line (shown where evaluators are listed)."""

    def __post_init__(self) -> None:
        if not self.summary or "\n" in self.summary:
            raise TypeError(f"EvaluatorSpec.summary must be one non-empty line, got {self.summary!r}")
