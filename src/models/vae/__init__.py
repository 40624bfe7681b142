"""Chapter 8 variational autoencoders: VAE-MLP (Listing 8.1.1), VAE-CNN (file 8.1.2, "Listing 8.1.3"),
CVAE (Listing 8.2.1) and beta-VAE (section 8.3, the book's beta-CVAE).

The book attaches its loss with `vae.add_loss(...)` on a functional model, which Keras 3 does not
support. Here one `VAE` (model.py) holds the book's encoder and decoder (two functional models,
built by the same two functions for every variant: networks.py) and computes the book's loss in its
own `train_step` / `test_step`:

    reconstruction = mse(x, x_hat) * D  (or binary_crossentropy * D), D = pixels per image (784)
    kl             = -0.5 * sum(1 + z_log_var - z_mean^2 - exp(z_log_var))       (Eq. 8.1.11)
    loss           = mean(reconstruction + beta * kl)                              (Eqs. 8.1.12, 8.3.1)

`evaluate` reports `loss`, `reconstruction_loss` and `kl_loss` (the batch means of the three terms;
`kl_loss` is the KL itself, before the beta factor), so a run's metrics.json holds
`test_loss`, `test_reconstruction_loss` and `test_kl_loss`.

Parameter counts are `VAE.count_params()` = encoder + decoder (the sampling layer has none, and its
random-seed state is not a weight): VAE-MLP 807,700; VAE-CNN 134,165; CVAE 174,437, as in the book.

The runner gives the fit loop batches of `x` (objective "self") or `(x, one-hot labels)` (objective
"self_conditional", the CVAE and beta-VAE) and compiles with the optimizer only. Modules: options,
model, networks, figures (after training, and task=sample) and builders (the four registrations).
"""

from adl_runner.models.vae.builders import build_beta_vae, build_cvae, build_vae_cnn, build_vae_mlp
from adl_runner.models.vae.figures import as_images, decode_points, sample_vae, write_beta_vae_figures, write_vae_figures
from adl_runner.models.vae.model import VAE, Sampling, kl_divergence, reconstruction_loss
from adl_runner.models.vae.options import LatentOptions, VAECNNOptions, VAEMLPOptions

__all__ = [
    "VAE", "LatentOptions", "Sampling", "VAECNNOptions", "VAEMLPOptions", "as_images", "build_beta_vae", "build_cvae",
    "build_vae_cnn", "build_vae_mlp", "decode_points", "kl_divergence", "reconstruction_loss", "sample_vae",
    "write_beta_vae_figures", "write_vae_figures",
]
