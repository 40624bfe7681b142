"""Figures say what they show: the run's caption on each, markers and integer epochs on curves,
a step axis for step-based runs, evaluations named as such, a gutter between grid cells."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from adl_runner.runner import plots
from adl_runner.runner.artifacts import GUTTER, ArtifactWriter, _grid_figure
from adl_runner.runner.rundir import RunDir


@pytest.fixture
def drawn(monkeypatch) -> list:
    """The figures plot_curves hands to the writer, kept open for inspection."""
    figures: list = []
    monkeypatch.setattr(ArtifactWriter, "figure", lambda self, name, fig: figures.append((name, fig)) or Path(name))
    yield figures
    plt.close("all")


def test_a_one_epoch_curve_is_a_visible_point_on_an_integer_epoch_axis(tmp_path: Path, drawn) -> None:
    plots.plot_curves(RunDir(tmp_path), {"epoch": [0.0], "loss": [0.5], "val_loss": [0.6]})
    (name, fig), = drawn
    ax = fig.axes[0]
    assert name == "loss" and ax.get_xlabel() == "epoch"
    assert [line.get_marker() for line in ax.get_lines()] == ["o", "o"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train loss", "test loss"]
    assert all(float(t).is_integer() for t in ax.get_xticks())


def test_step_based_runs_plot_on_the_step_axis_and_evaluations_are_named(tmp_path: Path, drawn) -> None:
    history = {"epoch": [0.0, 1.0, 2.0], "d_loss": [0.7, 0.6, 0.5], "fid": [90.0, 50.0, 30.0]}
    plots.plot_curves(RunDir(tmp_path), history, steps_per_point=500, evaluated={"fid"})
    curves = {name: fig.axes[0] for name, fig in drawn}
    assert list(curves["fid"].get_lines()[0].get_xdata()) == [500, 1000, 1500]
    assert curves["fid"].get_xlabel() == "step"
    assert curves["fid"].get_legend().get_texts()[0].get_text() == "fid (evaluation)"
    assert curves["d_loss"].get_legend().get_texts()[0].get_text() == "train d_loss"


def test_a_metric_measured_at_some_epochs_only_is_not_drawn_against_the_wrong_epochs(tmp_path: Path, drawn) -> None:
    # an evaluator every trainer.quality.every epochs: read_history drops its "NA" rows
    history = {"epoch": [0.0, 1.0, 2.0], "mi": [0.1, 0.13, 0.14], "mi_estimate": [0.12, 0.14]}
    plots.plot_curves(RunDir(tmp_path), history)
    assert [name for name, _ in drawn] == ["mi"]


def test_every_figure_carries_the_runs_caption(tmp_path: Path) -> None:
    out = ArtifactWriter(RunDir(tmp_path, caption="dcgan on mnist, run sweep/3"))
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    texts: list = []
    original = fig.savefig
    fig.savefig = lambda *a, **k: (texts.extend(t.get_text() for t in fig.texts), original(*a, **k))[1]
    out.figure("curve", fig)
    assert texts == ["dcgan on mnist, run sweep/3"] and (tmp_path / "curve.png").stat().st_size > 0


def test_grid_cells_are_separated_by_a_gutter() -> None:
    fig = _grid_figure(np.ones((4, 5, 5, 1)), cols=2, title=None)
    canvas = fig.axes[0].get_images()[0].get_array()
    assert canvas.shape == (2 * 5 + GUTTER, 2 * 5 + GUTTER)
    assert np.all(canvas[5:5 + GUTTER, :] == 0.5) and np.all(canvas[:5, :5] == 1.0)
    plt.close(fig)
