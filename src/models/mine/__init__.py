"""Chapter 13's MINE: mutual information by the Donsker-Varadhan bound, on correlated Gaussians
(`model=mine dataset=gaussian`, Listings 13.8.1-13.8.2) and as an unsupervised MNIST encoder scored
by a linear probe (`model=mine_encoder`, Listings 13.9.1-13.9.3).

Modules: model (`MINE`, the custom-step model, and its networks), probe (the linear probe),
evaluators (`mine_heldout`, `mine_probe`: the metrics.json numbers), figures (`mi_per_step.png`)
and builders (the two registrations and their options).
"""

from adl_runner.models.mine.builders import MINEEncoderOptions, MINEOptions, build_mine, build_mine_encoder
from adl_runner.models.mine.model import MINE, encoded_mine, simple_mine
from adl_runner.models.mine.probe import LinearProbe

__all__ = ["MINE", "LinearProbe", "MINEEncoderOptions", "MINEOptions", "build_mine", "build_mine_encoder",
           "encoded_mine", "simple_mine"]
