"""The SSD's bad inputs of issue 13 through the real `run` entry point, each one `error:` line, exit 2
and no run dir: a drinks label CSV without a column or with a class outside the class list (file and
row named), a drinks image missing or not a JPEG, and a checkpoint of another family given to
task=predict with model=ssd. The predict-side image cases (a path that does not exist, a file that is
not an image, an empty folder) and a size the scales cannot take are in test_ssd_cli.py."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SSD = ("model=ssd", "dataset=drinks", "model.backbone_n=1", "trainer.epochs=1", "logger.tensorboard=false")


@pytest.fixture
def drinks_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private fake drinks data dir (the session's is shared by every test), made the data dir."""
    from adl_runner.data.synthetic_boxes import write_fake_drinks

    root = tmp_path / "data"
    write_fake_drinks(root, n_train=4, n_test=2)
    monkeypatch.setenv("RUNNER_DATA_DIR", str(root))
    return root / "drinks"


def rewrite_labels(path: Path, edit) -> None:
    """`path`'s rows (header first) passed through `edit(rows)` and written back."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(edit(rows))


def test_a_label_csv_without_a_column_names_the_file_and_its_header_row(run_cli, drinks_dir: Path, tmp_path: Path) -> None:
    rewrite_labels(drinks_dir / "labels_test.csv", lambda rows: [row[:4] + row[5:] for row in rows])  # no ymax
    run_cli(*SSD, run_dir=tmp_path / "run").assert_error(
        "drinks/labels_test.csv row 1", "lacks ymax", "frame,xmin,xmax,ymin,ymax,class_id", no_run_dir=True)


def test_a_class_id_outside_the_class_list_names_the_file_row_and_valid_ids(run_cli, drinks_dir: Path, tmp_path: Path) -> None:
    rewrite_labels(drinks_dir / "labels_train.csv", lambda rows: rows[:2] + [rows[2][:5] + ["4"]] + rows[3:])
    run_cli(*SSD, run_dir=tmp_path / "run").assert_error(
        "drinks/labels_train.csv row 3", "class_id '4'", "valid: 0 (background), 1 (Water), 2 (Soda), 3 (Juice)",
        no_run_dir=True)


def test_a_drinks_image_missing_or_not_a_jpeg_is_named(run_cli, drinks_dir: Path, tmp_path: Path) -> None:
    (drinks_dir / "0000001.jpg").write_text("not a jpeg")
    run_cli(*SSD, run_dir=tmp_path / "a").assert_error("0000001.jpg is not a readable JPEG", no_run_dir=True)
    (drinks_dir / "0000001.jpg").unlink()
    run_cli(*SSD, run_dir=tmp_path / "b").assert_error(
        "drinks/0000001.jpg (named in drinks/labels_train.csv) not found", no_run_dir=True)


def test_predict_with_model_ssd_refuses_a_checkpoint_of_another_family(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=mlp", "dataset=synthetic", "debug=smoke", "logger.plots=false", run_dir=tmp_path / "mlp")
    assert trained.code == 0, trained.err
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(photo)
    predict = ("task=predict", "model=ssd", f"image={photo}")
    # its run dir (the run's config names the family) and the bare checkpoint file (the loaded model does)
    run_cli(*predict, f"ckpt={trained.run_dir}", run_dir=tmp_path / "a").assert_error(
        "holds a 'mlp' model, not 'ssd'", "use model=mlp", no_run_dir=True)
    bare = tmp_path / "bare" / "mlp.keras"
    bare.parent.mkdir()
    bare.write_bytes((trained.run_dir / "checkpoints" / "last.keras").read_bytes())
    run_cli(*predict, f"ckpt={bare}", run_dir=tmp_path / "b").assert_error(
        "holds a 'mlp' model, not an SSD", no_run_dir=True)
