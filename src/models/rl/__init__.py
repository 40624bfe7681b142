"""Reinforcement-learning agents (chapters 9 and 10), trained by the runner's episode loop."""
