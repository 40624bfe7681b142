"""The runs of docs/results/chapters2_3_8.md: each book experiment of chapters 2 (the functional API),
3 (autoencoders) and 8 (VAEs) that fits the CPU, with its command, the book's result (from
shared/spec/book-ch01-05.md and book-ch06-09.md), the figures the page shows and, where the book
gives a number or a checkable claim, the target its record is judged against.

A record is the row whose command it ran: its `run.json` argv, less the `logger.` and `hydra.`
overrides (which change no result), equals the row's `overrides`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A numeric book result: `metric` of metrics.json within [low, high]."""

    metric: str
    low: float
    high: float
    wording: str


@dataclass(frozen=True)
class Muting:
    """A beta-VAE claim checkable from a record's latent_kl.json: which latent dimensions are muted
    (mean KL below the record's `muted_below`)."""

    muted: tuple[bool, ...]
    claim: str


@dataclass(frozen=True)
class Row:
    name: str
    """The record's folder under docs/results/runs/ (and the run dir's name)."""
    overrides: tuple[str, ...]
    title: str
    book: str
    figures: tuple[tuple[str, str], ...] = ()
    """(file in the record, caption), shown when the record holds the file."""
    target: Target | None = None
    muting: Muting | None = None
    beta: float | None = None
    """The β of a beta-sweep row (its row in the sweep's KL table)."""


def _accuracy(low: float) -> Target:
    return Target("test_accuracy", low, 1.0, f"test accuracy >= {100 * low:.1f} % (the low end of the book's range)")


_RECONSTRUCTION = ("input_and_decoded.png", "test inputs (first two rows) over their reconstructions (last two)")
_DENOISED = ("corrupted_and_denoised.png", "three sets of test digits, rows original / noisy / denoised")
_TRAVERSALS = tuple((f"latent_traversal_z{i}.png", f"z[{i}] swept over [-4, 4] (the other at 0), one row per "
                     "label; the title gives its mean KL and whether it is muted") for i in (0, 1))

ROWS = (
    Row("cnn_functional_mnist", ("model=cnn_functional",), "functional CNN, Dropout 0.3 (Listing 2.1.1)",
        "val accuracy 99.3-99.4 % over 20 epochs", target=_accuracy(0.993)),
    Row("ynet_mnist", ("model=ynet",), "Y-network, dilated right branch (Listing 2.1.2)",
        "val accuracy 99.4-99.5 % over 20 epochs", target=_accuracy(0.994)),
    Row("autoencoder_mnist", ("model=autoencoder",), "conv autoencoder, latent 16 (Listing 3.2.1)",
        "val MSE 0.01 after 1 epoch; decoded digits recognisable, slightly blurred (Fig 3.2.4)", (_RECONSTRUCTION,),
        Target("test_loss", 0.005, 0.015, "test MSE 0.01 at the book's two decimals")),
    Row("autoencoder_latent2_mnist", ("model=autoencoder", "model.latent_dim=2", "trainer.epochs=20"),
        "conv autoencoder, latent 2 (Listing 3.2.2)",
        "digit clusters in a latent that is not continuous, why the book moves on to VAEs (Figs 3.2.5-3.2.6)",
        (("latent_2dim.png", "the test set's latent codes coloured by digit (Fig 3.2.5's plot)"),
         ("digits_over_latent.png", "digits decoded over a 30x30 grid of the latent on [-4, 4]^2 (Fig 3.2.6)"))),
    Row("dae_sigma_0.5", ("model=dae", "dataset.sigma=0.5"), "denoising AE, σ = 0.5 (Listing 3.3.1)",
        "the clean digits recovered (the book's default σ)", (_DENOISED,)),
    Row("dae_sigma_0.75", ("model=dae", "dataset.sigma=0.75"), "denoising AE, σ = 0.75 (Fig 3.3.3)",
        "still recovers the digits", (_DENOISED,)),
    Row("dae_sigma_1.0", ("model=dae", "dataset.sigma=1.0"), "denoising AE, σ = 1.0 (Fig 3.3.3)",
        "some digits, such as 4 and 5, fail", (_DENOISED,)),
    Row("colorization_cifar10_subset", ("model=colorization",), "colorization AE, latent 256 (Listing 3.4.1)",
        "sea and sky blue, animals brown, clouds white",
        (("colorized.png", "test images coloured from their gray version"),
         ("test_color.png", "the same test images in their real colours"))),
    Row("vae_mlp_mnist", ("model=vae_mlp",), "VAE-MLP, MSE (Listing 8.1.1)",
        "latent means and the decoded manifold (Figs 8.1.6-8.1.7)",
        (("vae_mean.png", "test-set latent means coloured by digit (Fig 8.1.6)"),
         ("digits_over_latent.png", "digits decoded over a 30x30 grid of the 2-dim latent (Fig 8.1.7)"))),
    Row("vae_cnn_mnist", ("model=vae_cnn",), "VAE-CNN, MSE (\"Listing 8.1.3\", file 8.1.2)",
        "latent means and the decoded manifold (Figs 8.1.11-8.1.12)",
        (("vae_mean.png", "test-set latent means coloured by digit (Fig 8.1.11)"),
         ("digits_over_latent.png", "digits decoded over a 30x30 grid of the 2-dim latent (Fig 8.1.12)"))),
    Row("cvae_mnist", ("model=cvae",), "CVAE, BCE (Listing 8.2.1)",
        "the label fixes the digit, the latent its style (Figs 8.2.4-8.2.6)",
        (("digits_over_latent_label_3.png", "the decoded 10x10 grid for label 3 (one such grid per digit)"),)),
    Row("beta_vae_beta_1", ("model=beta_vae", "model.beta=1"), "β-VAE, β = 1 (Section 8.3: the CVAE)",
        "the CVAE (Fig 8.3.3's β = 1 column, beside β = 9 and 10)", _TRAVERSALS, beta=1),
    Row("beta_vae_beta_9", ("model=beta_vae", "model.beta=9"), "β-VAE, β = 9 (Section 8.3)",
        "one factor per latent: z[0] tilt, z[1] width (Fig 8.3.1)", _TRAVERSALS,
        muting=Muting((False, False), "both latents learned, neither muted: the KL side of one factor per latent"), beta=9),
    Row("beta_vae_beta_10", ("model=beta_vae", "model.beta=10"), "β-VAE, β = 10 (Section 8.3)",
        "z[0] muted, z[1] tilt and width (Fig 8.3.2)", _TRAVERSALS,
        muting=Muting((True, False), "z[0] muted, z[1] learned"), beta=10),
)
