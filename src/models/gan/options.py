"""Typed options of the book's GANs and the checks every builder shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adl_runner.kernel.checks import require_rank
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.ranges import ranged


@dataclass
class BookGANOptions:
    """DCGAN, LSGAN, CGAN and ACGAN (Listings 4.2.1, 4.3.1, 5.2.1, 5.3.1): G and D of `lib/gan.py`."""

    latent_dim: int = ranged(100, at_least=1)
    """Size of the noise z ~ U(-1, 1)."""
    g_lr_scale: float = ranged(0.5, above=0)
    """G's learning rate and decay relative to D's (optimizer.*): the book halves both."""
    discriminator_batch_norm: bool = False
    """BatchNormalization in D, trained as the book's Figure 5.1.5 experiment did (DCGAN becomes
    unstable): D's update sees real and fake as one batch (WGAN's critic: two, as its loop), D
    runs in inference mode during G's update (the book's frozen D), and WGAN clips every D weight,
    moving statistics included."""
    book_log: bool = False
    """Also print the book's line every step: `i: [discriminator loss: l, acc: a] [adversarial
    loss: l, acc: a]` (the same numbers are epoch means in history.csv either way)."""
    book_inference_fakes: bool = False
    """Make the discriminator's fakes with the generator's BatchNorm in inference mode (moving
    statistics), as the book's `generator.predict` does. The default makes them in training mode,
    the mode the generator's own update runs in: otherwise D is trained on other images than the
    ones G is optimised on (an earlier WGAN run collapsed to one shape in the book's mode; it has no
    committed record yet: docs/results/gan.md has the command)."""


@dataclass
class WGANOptions(BookGANOptions):
    """WGAN (Listing 5.1.2, Algorithm 5.1.1): a linear critic, weight clipping and n_critic."""

    n_critic: int = ranged(5, at_least=1)
    """Critic updates (each on its own real batch) per generator update."""
    clip_value: float = ranged(0.01, above=0, why="the critic's Lipschitz bound")
    """Every critic weight is clipped to [-c, c] after each critic update."""
    g_lr_scale: float = ranged(1.0, above=0)
    """WGAN uses one learning rate (5e-5) for both networks."""


def check_gan_options(name: str, opts: BookGANOptions, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """The image shape the networks are built for, after checking it (the options' ranges are
    declared on them)."""
    shape = require_rank(name, input_shape, 3, "image")
    if shape[0] % 4 or shape[1] % 4:
        raise ConfigError(f"{name}: the book's generator upsamples 4x, so images must be a multiple of 4 pixels "
                          f"on each side; got {shape[0]}x{shape[1]}")
    return shape  # type: ignore[return-value]


def gan_arguments(opts: BookGANOptions, seed: int) -> dict[str, Any]:
    """The constructor arguments every book GAN takes from the shared options; `seed` (the job's)
    seeds its sampling RNG and grid noise: the same job seed gives the same grids."""
    return {"g_lr_scale": opts.g_lr_scale, "inference_fakes": opts.book_inference_fakes, "seed": seed,
            "book_batch_norm": opts.discriminator_batch_norm, "book_log": opts.book_log}
