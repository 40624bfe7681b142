"""The artifact writer and data view that model families use for their figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions
from adl_runner.data.synthetic import make_splits
from adl_runner.kernel.errors import RunnerError
from adl_runner.runner.artifacts import ArtifactData, ArtifactWriter
from adl_runner.runner.rundir import RunDir


def test_image_grid_is_a_png_in_the_run_dir(tmp_path: Path) -> None:
    out = ArtifactWriter(RunDir(tmp_path))
    path = out.image_grid("grid", np.random.default_rng(0).random((10, 28, 28, 1)), cols=4, title="ten digits")
    assert path == tmp_path / "grid.png"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 50
    colour = out.image_grid("colour", np.zeros((4, 32, 32, 3)), cols=2)
    assert colour.exists() and not list(tmp_path.glob(".*"))  # no temporary files left


def test_data_view_gives_examples_and_labels_in_order() -> None:
    splits = make_splits((28, 28, 1), 10, 64, 40, seed=0)
    pipeline = ArrayPipeline(splits.x_train, splits.y_train, splits.x_test, splits.y_test, 10,
                             PipelineOptions(view="image", batch_size=16, targets="images", noise_sigma=0.5))
    data = ArtifactData(pipeline)
    noisy, clean = data.examples(20)
    assert noisy.shape == clean.shape == (20, 28, 28, 1) and not np.allclose(noisy, clean)
    np.testing.assert_array_equal(data.labels(), splits.y_test)
    assert data.num_classes == 10


def test_run_files_get_the_normal_file_mode(tmp_path: Path) -> None:
    import os

    umask = os.umask(0)
    os.umask(umask)
    path = RunDir(tmp_path).write_text("metrics.json", "{}")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_frame_that_is_not_an_image_is_left_out_of_the_gif_and_kept(tmp_path: Path, caplog) -> None:
    writer = ArtifactWriter(RunDir(tmp_path))
    frames = [writer.progress_grid(step, np.full((4, 8, 8), step / 3.0), cols=2) for step in range(3)]
    frames[1].write_bytes(b"not an image")
    truncated = writer.progress_grid(3, np.zeros((4, 8, 8)), cols=2)
    truncated.write_bytes(frames[0].read_bytes()[:40])
    gif = writer.progress_animation()
    with Image.open(gif) as animation:
        assert animation.n_frames == 2
    assert frames[1].read_bytes() == b"not an image" and truncated.stat().st_size == 40
    assert f"{frames[1]} is not a readable image" in caplog.text and f"{truncated} is not a readable image" in caplog.text
    for frame in (frames[0], frames[2]):
        frame.unlink()
    assert ArtifactWriter(RunDir(tmp_path)).progress_animation() is None


def test_families_name_what_they_write_and_the_run_dir_places_it(tmp_path: Path) -> None:
    import keras

    out = ArtifactWriter(RunDir(tmp_path))
    grid = np.zeros((4, 8, 8))
    assert out.progress_grid(7, grid, cols=2) == tmp_path / "grids" / "00007.png"
    assert out.progress_grid(7, grid, cols=2, series="reconstructed", digits=6) == tmp_path / "grids" / "reconstructed" / "000007.png"
    assert out.table("q_table", "state,left\n0,1\n") == tmp_path / "q_table.csv"
    network = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert out.network("generator", network) == tmp_path / "checkpoints" / "generator.keras"
    assert (tmp_path / "checkpoints" / "generator.keras").is_file()


def test_progress_grids_animate_in_step_order_past_their_padding(tmp_path: Path) -> None:
    out = ArtifactWriter(RunDir(tmp_path))
    for step, shade in ((99999, 0.0), (100000, 1.0)):  # "100000" sorts before "99999" as text
        out.progress_grid(step, np.full((1, 8, 8), shade), cols=1)
    out.progress_grid(5, np.full((1, 8, 8), 0.5), cols=1, series="other")  # another series: not a frame
    with Image.open(out.progress_animation()) as animation:
        assert animation.n_frames == 2
        first = np.asarray(animation.convert("L"))
        animation.seek(1)
        second = np.asarray(animation.convert("L"))
    assert first.mean() < second.mean()


def test_an_episode_animation_of_rendered_frames(tmp_path: Path) -> None:
    out = ArtifactWriter(RunDir(tmp_path))
    frames = [np.full((6, 6, 3), v, np.uint8) for v in (0, 128, 255)]
    path = out.episode_animation([frames[0], None, *frames[1:]])
    assert path == tmp_path / "episode.gif"
    with Image.open(path) as animation:
        assert animation.n_frames == 3
    with pytest.raises(RunnerError, match="rendered no frames"):
        out.episode_animation([None])


def test_a_grid_figure_beyond_the_pixel_bound_is_refused(tmp_path: Path) -> None:
    """A 300x300 grid of 28x28 digits would be a 30,000 x 30,000 pixel figure (the OOM of issue 19):
    refused before matplotlib allocates anything, naming the size and what to lower."""
    from adl_runner.kernel.errors import ConfigError

    images = np.broadcast_to(np.zeros((1, 28, 28), np.float32), (300 * 300, 28, 28))
    with pytest.raises(ConfigError, match=r"a grid of 90,000 images of 28x28 would be a 30,000 x 30,000 pixel figure.*sample.grid"):
        ArtifactWriter(RunDir(tmp_path)).image_grid("huge", images, cols=300)
    assert list(tmp_path.iterdir()) == []
