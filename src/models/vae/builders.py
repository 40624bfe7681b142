"""The four registered VAE families: vae_mlp, vae_cnn, cvae and beta_vae."""

from __future__ import annotations

from adl_runner.kernel.checks import require_rank
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.vae.figures import sample_vae, write_beta_vae_figures, write_vae_figures
from adl_runner.models.vae.model import VAE
from adl_runner.models.vae.networks import assemble, cnn_shape, cnn_trunks, mlp_trunks
from adl_runner.models.vae.options import VAECNNOptions, VAEMLPOptions
from adl_runner.models.vae.serving import serve_vae


@MODELS.register("vae_mlp", FitSpec(options=VAEMLPOptions, view="flat", objective="self",
                 artifacts=write_vae_figures, sample=sample_vae, serve=serve_vae))
def build_vae_mlp(opts: VAEMLPOptions, ctx: BuildContext) -> VAE:
    """Listing 8.1.1 (807,700 params on MNIST: encoder 403,972 + decoder 403,728)."""
    (dim,) = require_rank("vae_mlp", ctx.input_shape, 1, "flat")
    return assemble("vae_mlp", opts, (dim,), mlp_trunks(opts, dim), num_labels=0)


@MODELS.register("vae_cnn", FitSpec(options=VAECNNOptions, view="image", objective="self",
                 artifacts=write_vae_figures, sample=sample_vae, serve=serve_vae))
def build_vae_cnn(opts: VAECNNOptions, ctx: BuildContext) -> VAE:
    """File 8.1.2 (134,165 params on MNIST: encoder 69,076 + decoder 65,089)."""
    shape = cnn_shape("vae_cnn", opts, ctx.input_shape)
    return assemble("vae_cnn", opts, shape, cnn_trunks(opts, shape), num_labels=0)


def _build_conditional(name: str, opts: VAECNNOptions, input_shape: tuple[int, ...], num_classes: int) -> VAE:
    shape = cnn_shape(name, opts, input_shape)
    return assemble(name, opts, shape, cnn_trunks(opts, shape), num_labels=num_classes)


@MODELS.register("cvae", FitSpec(options=VAECNNOptions, view="image", objective="self_conditional",
                 artifacts=write_vae_figures, sample=sample_vae, serve=serve_vae))
def build_cvae(opts: VAECNNOptions, ctx: BuildContext) -> VAE:
    """Listing 8.2.1 (174,437 params on MNIST: encoder 77,988 + decoder 96,449)."""
    return _build_conditional("cvae", opts, ctx.input_shape, ctx.num_classes)


@MODELS.register("beta_vae", FitSpec(options=VAECNNOptions, view="image", objective="self_conditional",
                 artifacts=write_beta_vae_figures, sample=sample_vae, serve=serve_vae))
def build_beta_vae(opts: VAECNNOptions, ctx: BuildContext) -> VAE:
    """Section 8.3: the book's beta-VAE is the CVAE of Listing 8.2.1 with beta > 1 (same 174,437
    params); its run adds latent-traversal figures."""
    return _build_conditional("beta_vae", opts, ctx.input_shape, ctx.num_classes)
