"""The docs' result tables, built from run dirs (no number typed by hand): one module per
`run-report` subcommand (`run-report gan-table ...`, `rl-results`, `train-eval`, `cyclegan-doc`,
`detection-doc`, `localizer-doc`, `classical-doc`).

Pure Python like the book tables of `runner.report` (NumPy and matplotlib only where a figure or a
checkpoint needs them), so they run on machines that only hold results.
"""
