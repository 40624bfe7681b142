"""adl-runner's Hydra plugins.

Hydra imports every module under the `hydra_plugins` namespace package at start-up, so nothing here
may import TensorFlow or the runner's model code.
"""
