"""`run-report autoencoders-doc`: docs/results/chapters2_3_8.md from run records of chapters 2, 3
and 8, and the committed page against its committed records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from adl_runner.runner import report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"


def write_record(root: Path, name: str, argv: list[str], model: dict, metrics: dict, history: str = "",
                 dataset: dict | None = None) -> Path:
    record = root / "runs" / name
    record.mkdir(parents=True)
    (record / "config.yaml").write_text(yaml.safe_dump({"model": model, "dataset": dataset or {"name": "mnist"}}))
    (record / "metrics.json").write_text(json.dumps({"params": 1234, "epochs_completed": 2, "seed": 42, **metrics}))
    (record / "run.json").write_text(json.dumps({"argv": ["run", *argv, "logger.tensorboard=false", f"hydra.run.dir=/x/{name}"],
                                                 "git_commit": "abc123", "wall_time_s": 150.0,
                                                 "versions": {"tensorflow-cpu": "2.21.0", "keras": "3.15.1"}}))
    if history:
        (record / "history.csv").write_text(history)
    return record


def generate(capsys: pytest.CaptureFixture[str], tmp_path: Path, *records: Path) -> tuple[int, str]:
    code = report.main(["autoencoders-doc", *map(str, records), "--docs", str(tmp_path)])
    page = tmp_path / "chapters2_3_8.md"
    return code, page.read_text() if code == 0 else capsys.readouterr().err


def test_records_become_rows_verdicts_and_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cnn = write_record(tmp_path, "cnn_functional_mnist", ["model=cnn_functional"], {"name": "cnn"},
                       {"test_accuracy": 0.9921}, "epoch,val_accuracy\n0,0.98\n1,0.9925\n2,0.9931\n3,0.9921\n")
    ae = write_record(tmp_path, "autoencoder_mnist", ["model=autoencoder"], {"name": "autoencoder"},
                      {"test_loss": 0.01048, "best_val_loss": 0.01048, "best_epoch": 1})
    (ae / "input_and_decoded.png").write_bytes(b"png")
    dae = write_record(tmp_path, "dae_sigma_1.0", ["model=dae", "dataset.sigma=1.0"], {"name": "autoencoder"},
                       {"test_loss": 0.0314}, dataset={"name": "mnist", "sigma": 1.0})
    beta = write_record(tmp_path, "beta_vae_beta_10", ["model.beta=10", "model=beta_vae"],
                        {"name": "beta_vae", "beta": 10.0, "reconstruction": "bce"},
                        {"test_loss": 155.27, "test_reconstruction_loss": 137.16, "test_kl_loss": 1.81})
    (beta / "latent_kl.json").write_text(json.dumps({"mean_kl_per_dim": [0.69, 1.13], "muted_below": 0.05}))
    (beta / "latent_traversal_z1.png").write_bytes(b"png")
    code, page = generate(capsys, tmp_path, cnn, ae, dae, beta)
    assert code == 0, page
    assert ("| [cnn_functional_mnist](runs/cnn_functional_mnist/) | functional CNN, Dropout 0.3 (Listing 2.1.1) | 1,234 | 2 | "
            "test accuracy **99.21 %**; val accuracy 99.21 % to 99.31 % over epochs 3-4 | val accuracy 99.3-99.4 % over 20 "
            "epochs | not met (test accuracy >= 99.3 % (the low end of the book's range)) | 2.5 min |") in page
    assert ("test MSE **0.0105**; best val 0.0105 at epoch 1 | val MSE 0.01 after 1 epoch; decoded digits recognisable, "
            "slightly blurred (Fig 3.2.4) | met (test MSE 0.01 at the book's two decimals) |") in page
    assert "| test MSE to the clean digits **0.0314** |" in page
    assert "| loss 155.27 = reconstruction 137.16 + 10 x KL 1.81 (BCE summed over the pixels) |" in page
    assert ("| 10 | [beta_vae_beta_10](runs/beta_vae_beta_10/) | 42 | z[0] 0.690, z[1] 1.130 | none (0.05) | z[0] muted, "
            "z[1] tilt and width (Fig 8.3.2) | not met (the book: z[0] muted, z[1] learned) |") in page
    assert "| `ynet_mnist` | Y-network, dilated right branch (Listing 2.1.2) | - | - | not yet re-run |" in page
    assert "- `ynet_mnist`: `run model=ynet logger.tensorboard=false hydra.run.dir=outputs/book/ynet_mnist`" in page
    assert "| 9 | `beta_vae_beta_9`: not yet re-run |" in page
    assert ("- `dae_sigma_1.0`: `run model=dae dataset.sigma=1.0 logger.tensorboard=false hydra.run.dir=/x/dae_sigma_1.0` "
            "(commit `abc123`)") in page
    assert "![autoencoder_mnist: input_and_decoded.png](runs/autoencoder_mnist/input_and_decoded.png)" in page
    assert "![beta_vae_beta_10: latent_traversal_z1.png](runs/beta_vae_beta_10/latent_traversal_z1.png)" in page
    assert "latent_traversal_z0.png" not in page and "Stack (from `run.json`): tensorflow-cpu 2.21.0, keras 3.15.1." in page

    (beta / "latent_kl.json").write_text(json.dumps({"mean_kl_per_dim": [0.01, 1.13], "muted_below": 0.05}))
    code, page = generate(capsys, tmp_path, beta)
    assert "| z[0] 0.010, z[1] 1.130 | z[0] (0.05) |" in page and "| met (the book: z[0] muted, z[1] learned) |" in page


def test_a_record_of_no_row_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = write_record(tmp_path, "ae3", ["model=autoencoder", "trainer.epochs=3"], {"name": "autoencoder"}, {"test_loss": 0.1})
    code, err = generate(capsys, tmp_path, other)
    assert code == 2 and "ran `run model=autoencoder trainer.epochs=3 logger.tensorboard=false" in err
    assert "no row of the page; rows: run model=cnn_functional, run model=ynet, run model=autoencoder," in err
    gan = write_record(tmp_path, "dcgan", ["model=dcgan"], {"name": "dcgan"}, {})
    code, err = generate(capsys, tmp_path, gan)
    assert code == 2 and "is a run of model 'dcgan'; give runs of cnn, ynet, autoencoder," in err
    again = write_record(tmp_path, "ae_again", ["model=autoencoder"], {"name": "autoencoder"}, {"test_loss": 0.01})
    first = write_record(tmp_path, "ae_first", ["model=autoencoder"], {"name": "autoencoder"}, {"test_loss": 0.01})
    code, err = generate(capsys, tmp_path, first, again)
    assert code == 2 and "are both `run model=autoencoder`" in err


def test_the_committed_chapters2_3_8_page_is_the_one_its_records_generate(tmp_path: Path) -> None:
    page = DOCS / "chapters2_3_8.md"
    if not page.exists():
        pytest.skip("no chapters 2-3-8 page committed")
    records = [DOCS / "runs" / line.split("](runs/", 1)[1].split("/)", 1)[0]
               for line in page.read_text().splitlines() if line.startswith("| [")]
    assert report.main(["autoencoders-doc", *map(str, records), "--docs", str(tmp_path)]) == 0
    assert (tmp_path / "chapters2_3_8.md").read_text() == page.read_text()
