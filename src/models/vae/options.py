"""The VAEs' options (Listings 8.1.1, 8.1.2, 8.2.1, section 8.3), with their ranges."""

from __future__ import annotations

from dataclasses import dataclass

from adl_runner.kernel.ranges import ranged
from adl_runner.models.vae.model import RECONSTRUCTIONS


@dataclass
class LatentOptions:
    """What every VAE variant shares: the latent space and the loss."""

    latent_dim: int = ranged(2, at_least=2, why="the latent plots are 2-D")
    """Size of z (the book: 2, for the plots). Larger latents: the mean scatter shows a PCA
    projection and the manifolds vary z[0] and z[1] with the other dimensions at 0."""
    beta: float = ranged(1.0, at_least=0)
    """Weight of the KL term (Eq. 8.3.1); 1 is the plain VAE, the book's beta-VAE uses 9 and 10."""
    reconstruction: str = ranged("mse", choices=RECONSTRUCTIONS)
    """Reconstruction loss per image: 'mse' (the book's default) or 'bce' (its --bce), times the
    number of pixels."""


@dataclass
class VAEMLPOptions(LatentOptions):
    """VAE-MLP of Listing 8.1.1: Dense(512, relu) encoder and decoder on flat images."""

    intermediate_dim: int = ranged(512, at_least=1)
    """Units of the one hidden Dense(relu) layer of the encoder and of the decoder."""


@dataclass
class VAECNNOptions(LatentOptions):
    """VAE-CNN of file 8.1.2 ("Listing 8.1.3"); the CVAE and beta-VAE (Listing 8.2.1) use the same network."""

    filters: int = ranged(16, at_least=1)
    """Base filters: doubled before each encoder conv (32, 64); the decoder's transposed convs
    use them in reverse (64, 32)."""
    conv_layers: int = ranged(2, at_least=1)
    """Strided (2) 'same' convs in the encoder and transposed convs in the decoder; the image size
    must be divisible by 2**conv_layers."""
    kernel_size: int = ranged(3, at_least=1)
    """Square kernel of every conv and transposed conv."""
    dense_units: int = ranged(16, at_least=1)
    """Units of the Dense(relu) between the encoder's convs and z_mean / z_log_var."""

