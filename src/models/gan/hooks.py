"""What every GAN gives the runner besides training: progress grids, final artifacts,
`task=sample` with the book's test-script controls (digit, InfoGAN code sweeps, StackedGAN z0/z1),
and `task=export` of its generator (serving.py).

Registered through `GAN_HOOKS`, so the runner calls them without knowing any GAN by name.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import keras
import numpy as np

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.hooks import SampleConfig
from adl_runner.models.gan import quality  # noqa: F401  (registers the mnist_fid evaluator)
from adl_runner.models.gan.serving import serve_generator

if TYPE_CHECKING:
    from adl_runner.kernel.hooks import ArtifactSink, DataView

CODE_SWEEP_EXAMPLE = "-2:2"
"""The book's sweep of InfoGAN's codes (--p1/--p2), for error messages."""


@dataclass
class CodeSample(SampleConfig):
    """Sample options of a GAN whose generator takes named codes: each field added by a subclass is
    a control, `sample.<name>`, setting the generator input of that name to a value or a sweep."""

    sweeps: ClassVar[dict[str, str]] = {}
    """The book's sweep of each control, for error messages."""

    @classmethod
    def controls(cls) -> tuple[str, ...]:
        generic = {field.name for field in dataclasses.fields(SampleConfig)}
        return tuple(field.name for field in dataclasses.fields(cls) if field.name not in generic)


def _generator(model: keras.Model) -> keras.Model:
    """The generator of a whole-GAN checkpoint, or the model itself when it is a saved generator."""
    return getattr(model, "generator", model)


def _to_unit(model: keras.Model, images: Any) -> np.ndarray:
    if hasattr(model, "to_unit"):
        return model.to_unit(images)
    images = np.asarray(keras.ops.convert_to_numpy(images), dtype=np.float32)
    if getattr(model.layers[-1], "activation", None) is keras.activations.tanh:
        images = (images + 1.0) / 2.0  # a saved tanh generator (the MLP GAN) works in [-1, 1]
    if images.ndim == 2:
        side = math.isqrt(images.shape[-1])
        images = images.reshape(-1, side, side, 1)
    return images


def grid_cols(n: int) -> int:
    return max(1, math.isqrt(n))


def write_grid(model: keras.Model, out: ArtifactSink, step: int) -> Path:
    """The progress grid of `step` from the model's fixed inputs (the book's 5-digit step files)."""
    images = model.grid_images()
    return out.progress_grid(step, images, cols=grid_cols(len(images)), title=f"step {step}")


def write_gan_artifacts(model: keras.Model, data: DataView, out: ArtifactSink) -> None:
    """After training: the generator alone as a .keras file (what task=sample and users load) and
    the final grid."""
    out.network("generator", model.generator)
    images = model.grid_images()
    out.image_grid("samples", images, cols=grid_cols(len(images)))


def parse_code(text: str | None, key: str, n: int, example: str = CODE_SWEEP_EXAMPLE) -> np.ndarray | None:
    """sample.codeK / sample.zK: a number (every image gets it) or lo:hi (a sweep over the grid, the
    book's --p1/--p2; StackedGAN's --p0/--p1 are -4:4 and -1:1). Shape (n, 1): one value per image,
    which a wider code (StackedGAN's 50-dim z0, z1) takes in every dimension, as the book's scripts."""
    if text is None:
        return None
    try:
        if ":" in str(text):
            low, high = (float(part) for part in str(text).split(":"))
            return np.linspace(low, high, n, dtype=np.float32)[:, None]
        return np.full((n, 1), float(text), dtype=np.float32)
    except ValueError:
        raise ConfigError(f"{key}='{text}' does not parse; give a number (0.5) or a range lo:hi ({example})") from None


def sample_inputs(generator: keras.Model, options: SampleConfig, rng: np.random.Generator, noise: str) -> tuple[list[np.ndarray], str]:
    """The generator's inputs for one sample grid, and a file-name suffix naming the controls."""
    names = [t.name.split(":")[0] for t in generator.inputs]
    dims = {name: int(t.shape[-1]) for name, t in zip(names, generator.inputs)}
    n = options.n
    suffix = ""
    if options.label is not None and "labels" not in names:
        raise IncompatibleError(f"sample.label needs a conditional generator; this one takes {', '.join(names)}")
    controls = options.controls() if isinstance(options, CodeSample) else ()
    for key in controls:
        if getattr(options, key) is not None and key not in names:
            raise IncompatibleError(f"sample.{key} needs a generator with that code ({type(options).__name__}); "
                                    f"this one takes {', '.join(names)}")
    inputs = []
    for name in names:
        if name == "z":
            z = rng.uniform(-1.0, 1.0, (n, dims[name])) if noise == "uniform" else rng.normal(0.0, 0.5, (n, dims[name]))
            inputs.append(z.astype(np.float32))
        elif name == "labels":
            if options.label is not None and not 0 <= options.label < dims[name]:
                raise ConfigError(f"sample.label={options.label} is outside 0-{dims[name] - 1}")
            digits = np.full(n, options.label) if options.label is not None else np.arange(n) % dims[name]
            suffix += f"_label_{options.label}" if options.label is not None else ""
            inputs.append(np.eye(dims[name], dtype=np.float32)[digits])
        elif name in controls:
            code = parse_code(getattr(options, name), f"sample.{name}", n, options.sweeps.get(name, CODE_SWEEP_EXAMPLE))
            if code is not None:
                suffix += f"_{name}_{getattr(options, name)}".replace(":", "_to_")
                code = np.ascontiguousarray(np.broadcast_to(code, (n, dims[name])))
            inputs.append(code if code is not None else rng.normal(0.0, 0.5, (n, dims[name])).astype(np.float32))
        else:
            inputs.append(rng.normal(0.0, 0.5, (n, dims[name])).astype(np.float32))
    return inputs, suffix


def sample_gan(model: keras.Model, options: SampleConfig, out: ArtifactSink) -> list[Path]:
    """A grid from new noise with the book's controls: digit (CGAN/ACGAN/InfoGAN/StackedGAN), code1/code2
    (InfoGAN) or z0/z1 (StackedGAN) values or sweeps."""
    generator = _generator(model)
    rng = np.random.default_rng(int(np.random.randint(0, 2**31 - 1)))  # the job's seed decides
    inputs, suffix = sample_inputs(generator, options, rng, getattr(model, "noise", "uniform"))
    images = _to_unit(model, generator.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0))
    return [out.image_grid(f"sample{suffix}", images, cols=grid_cols(len(images)))]


GAN_HOOKS: dict[str, Any] = {"snapshot": write_grid, "artifacts": write_gan_artifacts, "sample": sample_gan,
                             "serve": serve_generator, "evaluators": ("mnist_fid",)}
"""Registry meta shared by every GAN: `run` writes a grid each interval and a GIF of them at the end;
task=export serves the generator."""
