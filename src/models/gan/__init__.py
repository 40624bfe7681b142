"""Generative adversarial networks (chapters 4-7 of the book, Pattanayak's Listing 6-5): one
training design in `base.py`, the book's shared networks in `networks.py`, one module per variant."""
