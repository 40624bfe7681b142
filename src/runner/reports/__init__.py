"""The docs' result tables, built from run dirs (no number typed by hand): one module per
`run-report` subcommand (`run-report gan-table ...`, `gan-doc`, `rl-results`, `train-eval`,
`detection-doc`, `localizer-doc`, `classical-doc`, ...: `run-report --help` lists them).

Pure Python like the book tables of `runner.report` (NumPy and matplotlib only where a figure or a
checkpoint needs them), so they run on machines that only hold results.
"""
