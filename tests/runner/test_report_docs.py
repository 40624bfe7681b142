"""`run-report <subcommand>`: the docs' tables (gan-table, gan-doc, rl-results, rl-doc, train-eval, detection-doc, localizer-doc,
classical-doc, mine-doc, cyclegan-doc) on
tiny synthetic run dirs shaped like the real ones in outputs/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from adl_runner.runner import report


def write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, (dict, list)):
        content = json.dumps(content) if path.suffix == ".json" else yaml.safe_dump(content)
    path.write_text(content) if isinstance(content, str) else path.write_bytes(content)
    return path


def run_report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = report.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def gan_run(root: Path) -> Path:
    run = root / "cgan"
    write(run / "config.yaml", {"model": {"name": "cgan", "book_inference_fakes": False},
                                "trainer": {"steps_per_epoch": 100, "steps": 200, "batch_size": 64}})
    write(run / "checkpoints" / "state.json", {"epochs_completed": 2, "train_seconds": 120.0})
    write(run / "history.csv", "epoch,fid,label_accuracy,d_loss,g_loss\n0,40.5,0.5,0.7,1.2\n1,20.25,0.95,0.6,1.1\n")
    write(run / "metrics.json", {"model": "cgan", "steps_completed": 200, "fid": 20.25, "label_accuracy": 0.95})
    return run


def test_gan_table_rows_summary_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = gan_run(tmp_path)
    code, out, _ = run_report(capsys, "gan-table", str(run))
    assert code == 0
    assert "200 of 200 steps, batch 64, 2 min of training" in out and "D's fakes: training mode" in out
    assert "| 200 | 20.25 | 95.0 % | 0.600 | 1.100 |" in out
    assert "Final (`metrics.json`, 200 steps): MNIST-FID 20.25, label accuracy 95.0 %." in out
    code, out, _ = run_report(capsys, "gan-table", "--summary", str(run))
    assert "| `cgan` | training mode | 200 | 2 | 20.25 | 95.0 % | - | label accuracy >= 90 % | yes |" in out
    code, out, _ = run_report(capsys, "gan-table", "--compare", str(run), str(run))
    assert out.splitlines()[-1] == "| 200 | 20.25 | 20.25 |"


def test_rl_results_qworld_and_pg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "qworld"
    write(run / "metrics.json", {"episodes_completed": 40, "seed": 0, "wall_time_s": 1.5, "train_seconds": 0.25,
                                 **{f"v_s{s}": v for s, v in enumerate([90, 100, 0, 81, 90, 0])}, "v_start": 90,
                                 "q_s0_right": 90, "q_s1_right": 100, "greedy_path": "Right,Right", "epsilon": 0.0985,
                                 "eval_episodes": 10, "eval_success_rate": 1.0})
    write(run / "q_table.csv", "state,Left,Down,Right,Up\n0,0,0,90,0\n")
    code, out, _ = run_report(capsys, "rl-results", "qworld", str(run))
    assert code == 0
    assert "| V row 0 (start, (0,1), G) | 90, 100, 0 | 90, 100, 0 |" in out and "| greedy path | Right, Right | Right, Right |" in out
    assert "| 0 | 0 | 0 | 90 | 0 |" in out
    pg = tmp_path / "a2c"
    write(pg / "metrics.json", {"model": "a2c", "episodes_completed": 3, "successes": 1, "mean_return_100": 10.0,
                                "eval_mean_return": 50.0, "wall_time_s": 120.0})
    write(pg / "history.csv", "episode,return,success\n0,-5,0\n1,92.5,1\n2,10,0\n")
    code, out, _ = run_report(capsys, "rl-results", "pg", str(pg))
    assert "| a2c | 3 | 1 | 92.5 | 10.0 | 50.0 | 2.0 |" in out


def _qworld_record(root: Path, q_s0_right: float = 90.0) -> Path:
    run = root / "runs" / "qworld_short"
    write(run / "config.yaml", {"model": {"name": "q_learning"}, "env": {"name": "qworld"}})
    write(run / "metrics.json", {"episodes_completed": 40, "seed": 0, "wall_time_s": 1.5, "train_seconds": 0.25,
                                 **{f"v_s{s}": v for s, v in enumerate([90, 100, 0, 81, 90, 0])}, "v_start": 90,
                                 "q_s0_right": q_s0_right, "q_s1_right": 100.0, "q_s0_left": 81.0, "greedy_path": "Right,Right",
                                 "epsilon": 0.0985, "eval_episodes": 10, "eval_success_rate": 1.0})
    write(run / "q_table.csv", "state,Left,Down,Right,Up\n0,81,0,90,0\n")
    write(run / "run.json", {"argv": ["run", "model=q_learning", "env=qworld"], "git_commit": "abc123"})
    return run


def test_rl_doc_puts_a_qworld_record_beside_the_book_and_lists_the_unrecorded_runs(tmp_path: Path,
                                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    run = _qworld_record(tmp_path)
    code, _, err = run_report(capsys, "rl-doc", str(run), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "chapter9_10.md").read_text()
    assert "| V row 1 ((1,0), (1,1), H) | 81, 90, 0 | 81, 90, 0 |" in page and "| 0 | 81 | 0 | 90 | 0 |" in page
    assert "greedy path's Q-values equal the book's" in page and "Q(s0, Left) = 81" in page
    assert "- `qworld_short`: `run model=q_learning env=qworld` (commit `abc123`)" in page
    assert "| slippery | slippery | `env.slippery=true` `env.book_compat=false` | 26 | 71 | 1.5 |" in page  # from the table config
    assert page.count("Not yet re-run from committed code") == 1  # Table 9.5.1 (DQN / DDQN, chapter 10: their presets' pages)
    assert "[dqn_cartpole.md](dqn_cartpole.md)" in page and "run -m experiment=rl/dqn_cartpole" in page
    assert "[rl_policy_gradients.md](rl_policy_gradients.md)" in page and "run -m experiment=rl/policy_gradients" in page
    _qworld_record(tmp_path, q_s0_right=72.9)
    assert run_report(capsys, "rl-doc", str(run), "--docs", str(tmp_path))[0] == 0
    assert "greedy path's Q-values differ from the book's" in (tmp_path / "chapter9_10.md").read_text()
    write(run / "config.yaml", {"model": {"name": "q_learning"}, "env": {"name": "frozenlake"}})
    code, _, err = run_report(capsys, "rl-doc", str(run), "--docs", str(tmp_path))
    assert code == 2 and "is not a QWorld run" in err


def _frozenlake_job(folder: Path, row: int, table_id: str = "9.5.1", test: float = 0.716) -> None:
    job = folder / f"table.row={row}"
    write(job / "config.yaml", {"model": {"name": "q_learning"}, "env": {"name": "frozenlake"}, "table": {"id": table_id, "row": row}})
    write(job / "metrics.json", {"status": "completed", "success_rate": 0.2591, "eval_success_rate": test, "random_success_rate": 0.013})
    write(job / "run.json", {"argv": ["run", "-m", "experiment=book/table_9_5_1"], "git_commit": "abc123"})


def test_rl_doc_points_table_9_5_1_at_its_records_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, table = _qworld_record(tmp_path), tmp_path / "runs" / "table_9_5_1"
    for row, test in enumerate([0.716, 0.70]):
        _frozenlake_job(table, row, test=test)
    code, _, err = run_report(capsys, "rl-doc", str(run), str(table), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "chapter9_10.md").read_text()
    assert "[table_9_5_1.md](table_9_5_1.md), generated from the job records in [runs/table_9_5_1/](runs/table_9_5_1/)" in page
    assert "| slippery | slippery | `env.slippery=true` `env.book_compat=false` | 26 | 71 | 1.5 |" in page  # the book's values
    assert "leave out `history.csv`" in page
    assert "Not yet re-run from committed code" not in page and "The DQN / DDQN sweeps and the chapter-10" in page


def test_a_rebuilt_book_table_flags_with_its_configs_tolerance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "runs" / "table_9_5_1"
    _frozenlake_job(table, 0)  # test 71.6 % against the book's 76: -4.4, inside Table 9.5.1's declared ±5 points
    assert run_report(capsys, str(table), "--table", "book/table_9_5_1", "--docs", str(tmp_path))[0] == 0
    md = (tmp_path / "table_9_5_1.md").read_text()
    assert "All differences are within ±5 points." in md and "**-4.4**" not in md
    assert run_report(capsys, str(table), "--table", "book/table_9_5_1", "--docs", str(tmp_path), "--tolerance", "0.6")[0] == 0
    assert "**-4.4**" in (tmp_path / "table_9_5_1.md").read_text()


@pytest.mark.parametrize("folders", [["other_table"], ["table_9_5_1", "table_9_5_1_again"], ["missing"]])
def test_rl_doc_refuses_a_folder_that_is_not_one_table_9_5_1_in_one_line(folders: list[str], tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _frozenlake_job(tmp_path / "other_table", 0, table_id="1.4.1")
    for name in ("table_9_5_1", "table_9_5_1_again"):
        _frozenlake_job(tmp_path / name, 0)
    code, out, err = run_report(capsys, "rl-doc", str(_qworld_record(tmp_path)), *(str(tmp_path / f) for f in folders),
                                "--docs", str(tmp_path))
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "chapter9_10.md").exists()


def test_the_committed_chapter9_10_page_is_the_one_its_records_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    code, _, err = run_report(capsys, "rl-doc", str(docs / "runs" / "reference_returns_q_learning"), str(docs / "runs" / "table_9_5_1"),
                              "--docs", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "chapter9_10.md").read_text() == (docs / "chapter9_10.md").read_text()


def test_train_eval_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep, evals = tmp_path / "table_1_3_3", tmp_path / "table_1_3_3_train_eval"
    table = {"id": "1.3.3", "columns": ["layers"], "metrics": [{"key": "train_accuracy", "book": "train"}],
             "rows": [{"labels": {"layers": 1}, "book": {"train": 99.0}}, {"labels": {"layers": 2}, "book": {"train": 98.0}}]}
    write(sweep / "multirun.yaml", {"hydra": {"run": {"dir": "${now:%Y}"}}, "table": table})
    for job, (row, fit_log, evaluated) in enumerate([(1, 0.97, 0.985), (0, 0.98, 0.995)]):
        write(sweep / str(job) / "config.yaml", {"table": {"row": row}})
        write(sweep / str(job) / "metrics.json", {"train_accuracy": fit_log})
        write(evals / str(job) / "metrics.json", {"train_accuracy": evaluated})
    code, out, _ = run_report(capsys, "train-eval", str(sweep), str(evals))
    assert code == 0
    assert out.splitlines()[2:] == ["| 2 | 98.00 | 97.00 | 98.50 | +0.50 |", "| 1 | 99.00 | 98.00 | 99.50 | +0.50 |"]


def _dcgan_record(root: Path) -> Path:
    run = root / "runs" / "dcgan_short"
    write(run / "config.yaml", {"model": {"name": "dcgan"}, "trainer": {"steps": 200, "steps_per_epoch": 500, "batch_size": 64}})
    write(run / "metrics.json", {"task": "train", "steps_completed": 200, "train_d_loss": 0.45, "train_d_acc": 0.7,
                                 "train_g_loss": 2.0, "train_g_acc": 0.25, "train_d_real_acc": 0.8, "train_d_fake_acc": 0.6,
                                 "test_d_acc": 0.75})
    write(run / "history.csv", "epoch,d_acc,d_fake_acc,d_loss,d_real_acc,g_acc,g_loss,val_d_acc\n0,0.7,0.6,0.45,0.8,0.25,2.0,NA\n")
    write(run / "run.json", {"argv": ["run", "model=dcgan", "trainer.steps=200"], "git_commit": "abc123"})
    return run


def test_gan_doc_puts_a_dcgan_records_accuracies_beside_the_books_log_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _dcgan_record(tmp_path)
    code, out, err = run_report(capsys, "gan-doc", str(run), "--docs", str(tmp_path))
    assert code == 0 and out == f"wrote {tmp_path / 'gan.md'}\n", err
    page = (tmp_path / "gan.md").read_text()
    assert "| D loss | 0.423 / 0.472 / 0.533 | 0.423-0.533 | 0.450 | - | inside |" in page
    assert "| D acc | 0.797 / 0.773 / 0.742 | 0.742-0.797 | 0.700 | 0.750 | below |" in page
    assert "| adversarial loss | 0.819 / 1.570 / 0.824 | 0.819-1.570 | 2.000 | - | above |" in page
    assert "| D acc, real digits | not printed | - | 0.800 | - | - |" in page
    assert "the mean over steps 1-200" in page  # a run shorter than its save interval is one interval of its budget
    assert "| 200 | 0.450 | 0.700 | 0.800 | 0.600 | 2.000 | 0.250 |" in page
    assert "| `dcgan` | Listings 4.2.1-4.2.4 |" in page and "| [dcgan_short](runs/dcgan_short/) |" in page
    assert "| `wgan` | Listings 5.1.1-5.1.2 | 40,000 steps of batch 64 | qualitative: stable, no mode collapse | not yet re-run" in page
    assert "- `dcgan_short`: `run model=dcgan trainer.steps=200` (commit `abc123`)" in page
    assert "![dcgan_short" not in page  # no samples.png copied with the record
    assert "run -m experiment=gan/cpu_budgets " in page
    assert ("Not yet recorded from committed code: `gan_cpu_budgets`, `gan_lsgan_vs_dcgan`, `gan_batchnorm_d`, "
            "`infogan_cpu_budgets_code1`, `infogan_cpu_budgets_code2`, `stackedgan_mnist`, `stackedgan_mnist_z0`, "
            "`stackedgan_mnist_z1`.") in page
    runs = tmp_path / "runs" / "gan_lsgan_vs_dcgan"
    for seed, status in ((1, "completed"), (2, "completed"), (3, "interrupted")):
        job = runs / f"model=lsgan,seed={seed}"
        write(job / "config.yaml", {"model": {"name": "lsgan"}, "seed": seed})
        write(job / "metrics.json", {"status": status, "steps_completed": 3000 if status == "completed" else 500})
    code, _, err = run_report(capsys, "gan-doc", str(run), str(runs), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "gan.md").read_text()
    assert "| qualitative: better perceptual quality than DCGAN | [gan_lsgan_vs_dcgan](gan_lsgan_vs_dcgan.md): 2 runs of 3,000 steps |" in page
    assert "## `model=lsgan" not in page  # a set's records are on its own page
    assert "Not yet recorded from committed code: `gan_cpu_budgets`, `gan_batchnorm_d`, `infogan_cpu_budgets_code1`," in page
    write(tmp_path / "runs" / "mlp" / "config.yaml", {"model": {"name": "mlp"}})
    code, _, err = run_report(capsys, "gan-doc", str(tmp_path / "runs" / "mlp"), "--docs", str(tmp_path))
    assert code == 2 and "is a run of model 'mlp'; give runs of dcgan, cgan" in err


def test_gan_doc_shows_stackedgans_losses_and_the_grids_of_its_sample_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "runs" / "stackedgan_mnist"
    write(run / "config.yaml", {"model": {"name": "stackedgan"}, "trainer": {"steps": 1000, "steps_per_epoch": 500, "batch_size": 64}})
    write(run / "metrics.json", {"task": "train", "steps_completed": 1000})
    write(run / "history.csv", "epoch,adv0_loss,adv1_loss,dis0_loss,dis1_loss,enc1_acc,fid,label_accuracy\n"
                               "0,4.1,5.9,3.0,0.33,0.86,184.2,0.317\n1,3.5,4.7,3.2,0.35,0.97,79.7,0.8335\n")
    write(run / "run.json", {"argv": ["run", "model=stackedgan"], "git_commit": "abc123"})
    sweep = tmp_path / "runs" / "stackedgan_mnist_z0"
    write(sweep / "config.yaml", {"model": {"name": "stackedgan"}, "task": "sample"})
    write(sweep / "metrics.json", {"task": "sample", "checkpoint": "/runs/sg/checkpoints/generator.keras",
                                   "files": ["/runs/sg_z0/sample_z0_-4_to_4.png", "/runs/sg_z0/not_kept.png"]})
    write(sweep / "run.json", {"argv": ["run", "task=sample", "ckpt=/runs/sg", "sample.z0=-4:4"], "git_commit": "def456"})
    write(sweep / "sample_z0_-4_to_4.png", "png")
    code, _, err = run_report(capsys, "gan-doc", str(run), str(sweep), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "gan.md").read_text()
    assert ("| step | dis1 loss | dis0 loss | adv1 loss | adv0 loss | enc1 acc on gen1's features | MNIST-FID | label accuracy |\n"
            "|---|---|---|---|---|---|---|---|\n| 500 | 0.330 | 3.000 | 5.900 | 4.100 | 0.860 | 184.200 | 0.317 |") in page
    assert "| [stackedgan_mnist](runs/stackedgan_mnist/), [stackedgan_mnist_z0](runs/stackedgan_mnist_z0/) |" in page
    assert "## `stackedgan_mnist_z0`: stackedgan samples from `/runs/sg/checkpoints/generator.keras`" in page
    assert "- `stackedgan_mnist_z0`: `run task=sample ckpt=/runs/sg sample.z0=-4:4` (commit `def456`)" in page
    assert "![stackedgan_mnist_z0: sample_z0_-4_to_4.png](runs/stackedgan_mnist_z0/sample_z0_-4_to_4.png)" in page
    assert "not_kept.png" not in page  # a grid not copied with the record is not linked
    assert ("Not yet recorded from committed code: `gan_cpu_budgets`, `gan_lsgan_vs_dcgan`, `gan_batchnorm_d`, `infogan_cpu_budgets_code1`, "
            "`infogan_cpu_budgets_code2`, `stackedgan_mnist_z1`.") in page


def test_cyclegan_doc_lists_each_records_losses_and_shows_its_grids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "runs" / "cyclegan_cpu"
    write(record / "config.yaml", {"model": {"name": "cyclegan", "discriminator": "patchgan", "kernel_size": 3, "grid_size": 100},
                                   "dataset": {"name": "cifar10", "gray_input": True, "train_limit": None},
                                   "trainer": {"steps": 1000, "steps_per_epoch": 100, "batch_size": 32}})
    write(record / "metrics.json", {"task": "train", "steps_completed": 1000, "test_d_target_loss": 0.25, "test_d_source_loss": 0.2,
                                    "test_gan_loss": 0.9, "test_cycle_loss": 0.125, "test_adv_loss": 2.15, "best_epoch": 10,
                                    "best_cycle_loss": 0.12, "train_seconds": 1380.5})
    write(record / "history.csv", "epoch,adv_loss,cycle_loss,d_source_loss,d_target_loss,gan_loss,val_adv_loss\n"
                                  "0,5.5,0.4,0.45,0.5,1.5,NA\n9,2.0,0.12,0.2,0.25,0.8,NA\n")
    write(record / "run.json", {"argv": ["run", "model=cyclegan", "trainer.steps=1000"], "git_commit": "abc123"})
    write(record / "translated_target.png", b"png")
    code, out, err = run_report(capsys, "cyclegan-doc", str(record), "--docs", str(tmp_path))
    assert code == 0 and out == f"wrote {tmp_path / 'cyclegan.md'}\n", err
    page = (tmp_path / "cyclegan.md").read_text()
    assert ("| [cyclegan_cpu](runs/cyclegan_cpu/) | cifar10 (gray -> colour), patchgan, kernel 3 | 1,000 of 32 | 0.250 | 0.200 | "
            "0.900 | 0.125 | 2.150 | 10 (0.120) | 1380.5 |") in page
    assert "| 100 | 0.500 | 0.450 | 1.500 | 0.400 | 5.500 |" in page and "| 1,000 | 0.250 | 0.200 | 0.800 | 0.120 | 2.000 |" in page
    assert "- `cyclegan_cpu`: `run model=cyclegan trainer.steps=1000` (commit `abc123`)" in page
    assert "| G(x) |\n|---|\n| ![cyclegan_cpu: G(x)](runs/cyclegan_cpu/translated_target.png) |" in page  # only the grid copied
    assert "Colour -> gray is \"generally accurate\"" in page
    write(record / "config.yaml", {"model": {"name": "dcgan"}})
    code, _, err = run_report(capsys, "cyclegan-doc", str(record), "--docs", str(tmp_path))
    assert code == 2 and "is a run of model 'dcgan'; give runs of cyclegan" in err and err.count("\n") == 1


CYCLEGAN_DOC_RECORDS = ("cyclegan_cifar10_cpu", "cyclegan_cifar10_plain_cpu", "cyclegan_cifar10_cpu_5000")
"""What docs/results/cyclegan.md is generated from: E7.2 (PatchGAN) and E7.1 (plain D) at 1,000 steps, E7.2 at 5,000."""


def test_the_committed_cyclegan_page_is_the_one_its_records_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    code, _, err = run_report(capsys, "cyclegan-doc", *(str(docs / "runs" / name) for name in CYCLEGAN_DOC_RECORDS), "--docs", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "cyclegan.md").read_text() == (docs / "cyclegan.md").read_text()


def test_record_copies_a_finished_runs_small_files_and_shrinks_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    run = tmp_path / "run"
    write(run / "config.yaml", {"model": {"name": "ssd"}})
    write(run / "metrics.json", {"status": "completed", "map50": 0.5})
    write(run / "run.json", {"argv": ["run", "model=ssd"], "git_commit": "abc123"})
    write(run / "history.csv", "epoch,loss\n0,1.0\n")
    write(run / "checkpoints" / "last.keras", b"weights")
    Image.new("RGB", (1280, 960), (200, 30, 30)).save(run / "detections.png")
    docs = tmp_path / "docs"
    code, out, err = run_report(capsys, "record", str(run), "ssd_x", "--figure", "detections.png", "--docs", str(docs))
    assert code == 0 and out == f"wrote {docs / 'runs' / 'ssd_x'}\n", err
    kept = docs / "runs" / "ssd_x"
    assert sorted(p.name for p in kept.iterdir()) == ["config.yaml", "detections.png", "history.csv", "metrics.json", "run.json"]
    assert (kept / "metrics.json").read_text() == (run / "metrics.json").read_text()
    with Image.open(kept / "detections.png") as figure:
        assert figure.size == (640, 480) and figure.mode == "P"
    Image.new("RGB", (320, 200), (90, 90, 90)).save(run / "gray.png")
    run_report(capsys, "record", str(run), "ssd_x", "--figure", "gray.png", "--docs", str(docs))
    with Image.open(kept / "gray.png") as figure:  # narrower than --width: kept at its size, gray as gray
        assert figure.size == (320, 200) and figure.mode == "L"
    write(run / "metrics.json", {"status": "interrupted"})
    code, _, err = run_report(capsys, "record", str(run), "ssd_y", "--docs", str(docs))
    assert code == 2 and "has not completed (status: interrupted)" in err and err.count("\n") == 1
    assert not (docs / "runs" / "ssd_y").exists()
    write(run / "metrics.json", {"status": "completed"})
    for argv, fragment in ((["ssd_z", "--figure", "nope.png"], "lacks nope.png"), (["../up"], "must be a plain folder name")):
        code, _, err = run_report(capsys, "record", str(run), *argv, "--docs", str(docs))
        assert code == 2 and fragment in err and err.count("\n") == 1, err


GAN_DOC_RECORDS = ("reference_grid_dcgan", "gan_lsgan_vs_dcgan", "gan_batchnorm_d", "gan_cpu_budgets",
                   "infogan_cpu_budgets_code1", "infogan_cpu_budgets_code2", "stackedgan_mnist", "stackedgan_mnist_z0",
                   "stackedgan_mnist_z1")
"""What docs/results/gan.md is generated from: a record, and the comparison sets it links."""


def test_the_committed_gan_page_is_the_one_its_records_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    records = [docs / "runs" / name for name in GAN_DOC_RECORDS]
    code, _, err = run_report(capsys, "gan-doc", *map(str, records), "--docs", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "gan.md").read_text() == (docs / "gan.md").read_text()


@pytest.mark.parametrize("argv", [["gan-table", "{tmp}/none"], ["rl-results", "qworld", "{tmp}/none"],
                                  ["train-eval", "{tmp}/none", "{tmp}/none"], ["gan-doc", "{tmp}/none", "--docs", "{tmp}"]])
def test_a_missing_run_dir_is_one_error_line(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_report(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err


def test_a_run_file_without_a_field_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = gan_run(tmp_path)
    write(run / "metrics.json", {"model": "cgan"})
    code, _, err = run_report(capsys, "gan-table", "--summary", str(run))
    assert code == 2 and err.startswith("error: gan-table: a run file lacks the field 'label_accuracy'") and err.count("\n") == 1


def test_detection_doc_puts_the_books_numbers_beside_the_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, soft = tmp_path / "runs" / "ssd_ce_l1", tmp_path / "runs" / "ssd_ce_l1_soft_nms"
    model = {"name": "ssd", "normalize": False, "loss": "ce_l1", "soft_nms": False, "fn_rule": "repo"}
    write(train / "config.yaml", {"model": model, "dataset": {"name": "drinks", "options": {"image_size": [128, 160]}},
                                  "trainer": {"epochs": 2, "lr_schedule": {"boundaries": [0, 60], "factors": [1.0, 0.1, 0.5]}}})
    write(train / "metrics.json", {"task": "train", "epochs_completed": 2, "miou": 0.5, "precision": 0.75, "recall": 0.8,
                                   "map50": 0.6, "map": 0.3})
    write(train / "history.csv", "epoch,loss,val_loss,miou,precision,recall,map50,map\n0,2.0,1.5,0.2,0.3,0.4,0.1,0.05\n"
                                 "1,1.0,0.9,0.5,0.75,0.8,0.6,0.3\n")
    write(train / "run.json", {"argv": ["run", "model=ssd", "trainer.epochs=2"], "git_commit": "abc123"})
    write(soft / "config.yaml", {"model": {**model, "soft_nms": True}, "dataset": {"name": "drinks"}})
    write(soft / "metrics.json", {"task": "evaluate", "miou": 0.52, "precision": 0.7, "recall": 0.85, "map50": 0.62, "map": 0.31})
    write(soft / "run.json", {"argv": ["run", "task=evaluate", "model.soft_nms=true"], "git_commit": "abc123"})
    code, out, err = run_report(capsys, "detection-doc", str(train), str(soft), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "ssd.md").read_text()
    assert "| [ssd_ce_l1](runs/ssd_ce_l1/) | un-normalized, CE + L1 | 128x160 | 2 | x0.1 from 2 | 0.50 | 0.75 | 0.80 | 0.60 | 0.30 | 0.64 / 0.87 / 0.87 |" in page
    assert "- `ssd_ce_l1`: `run model=ssd trainer.epochs=2` (commit `abc123`)" in page
    assert "mAP@0.5 >= 0.5: met (0.60); precision >= 0.7: met (0.75); recall >= 0.7: met (0.80)" in page
    assert "| 2 | 1.000 | 0.900 | 0.50 | 0.75 | 0.80 | 0.60 | 0.30 |" in page
    assert "| [ssd_ce_l1_soft_nms](runs/ssd_ce_l1_soft_nms/) | True | repo | 0.52 | 0.70 | 0.85 | 0.62 | 0.31 |" in page
    code, _, err = run_report(capsys, "detection-doc", str(soft), "--docs", str(tmp_path))
    assert code == 2 and "no training record" in err


def test_the_ssd_page_judges_the_books_reading_of_its_table_once_all_five_variants_ran(tmp_path: Path,
                                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    scores = {  # (normalize, loss): mIoU, precision, recall
        (False, "ce_l1"): (0.60, 0.80, 0.90), (False, "ce_smooth_l1"): (0.55, 0.78, 0.80),
        (True, "ce_l1"): (0.50, 0.90, 0.95), (True, "ce_smooth_l1"): (0.45, 0.70, 0.85), (True, "focal_smooth_l1"): (0.52, 0.75, 0.85)}
    records = []
    for (normalize, loss), (miou, precision, recall) in scores.items():
        record = tmp_path / "runs" / f"ssd_{loss}_{normalize}"
        write(record / "config.yaml", {"model": {"name": "ssd", "normalize": normalize, "loss": loss},
                                       "dataset": {"name": "drinks", "options": {"image_size": [128, 160]}}, "trainer": {"epochs": 12}})
        write(record / "metrics.json", {"task": "train", "epochs_completed": 12, "miou": miou, "precision": precision, "recall": recall})
        write(record / "history.csv", "epoch,loss,val_loss\n")
        write(record / "run.json", {"argv": ["run", "model=ssd"], "git_commit": "abc123"})
        records.append(str(record))
    code, _, err = run_report(capsys, "detection-doc", *records[:3], "--docs", str(tmp_path))
    assert code == 0, err
    assert ("at 128x160, 12 epochs, learning rate constant:\n3 of 5 (to run: normalized, CE + smooth L1; normalized, focal + smooth L1)."
            in (tmp_path / "ssd.md").read_text())
    code, _, err = run_report(capsys, "detection-doc", *records, "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "ssd.md").read_text()
    assert "## The book's reading of Table 11.13.1, at 128x160, 12 epochs, learning rate constant" in page
    assert "- The best mIoU comes from un-normalised offsets: met (best: un-normalized, CE + L1, 0.600)" in page
    assert "- The best precision comes from normalised offsets with CE + L1: met (best: normalized, CE + L1, 0.900)" in page
    assert "- The best recall comes from normalised offsets with CE + L1: met (best: normalized, CE + L1, 0.950)" in page
    # focal + smooth L1 (0.52) beats normalised CE + L1 (0.50): the improved losses do not all lose
    assert ("- The \"improved\" losses score a lower mIoU than CE + L1 with the same offsets: not met (un-normalized, CE + smooth L1 "
            "0.550 against 0.600; normalized, CE + smooth L1 0.450 against 0.500; normalized, focal + smooth L1 0.520 against 0.500)") in page
    assert "- The \"improved\" losses score a lower precision than CE + L1 with the same offsets: met (un-normalized" in page
    assert "- The \"improved\" losses score a lower recall than CE + L1 with the same offsets: met (un-normalized" in page


def test_the_ssd_pages_learning_rate_column_names_the_steps_inside_the_run() -> None:
    from adl_runner.runner.reports.detection_doc import schedule

    book = {"boundaries": [60, 80], "factors": [1.0, 0.5, 0.1]}
    assert schedule({"epochs": 12, "lr_schedule": book}) == "constant"
    assert schedule({"epochs": 12, "lr_schedule": {"boundaries": [7, 9], "factors": [1.0, 0.1, 0.01]}}) == "x0.1 from 9, x0.01 from 11"
    assert schedule({"epochs": 200, "lr_schedule": book}) == "x0.5 from 62, x0.1 from 82"
    assert schedule({"epochs": 5}) == "constant"


def test_the_committed_ssd_page_is_the_one_its_records_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    records = sorted((docs / "runs").glob("ssd_*"))
    if not records:
        pytest.skip("no SSD run record committed")
    code, _, err = run_report(capsys, "detection-doc", *map(str, records), "--docs", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "ssd.md").read_text() == (docs / "ssd.md").read_text()


def test_localizer_doc_lists_accuracy_f1_and_box_iou_per_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "runs" / "localizer_drinks"
    write(run / "config.yaml", {"model": {"name": "localizer", "alpha": 1.0, "beta": 1.0},
                                "dataset": {"name": "drinks_objects", "options": {"image_size": [96, 96]}},
                                "trainer": {"checkpoint": {"monitor": "val_box_iou", "mode": "max"}}})
    write(run / "metrics.json", {"task": "train", "model": "localizer", "epochs_completed": 2, "accuracy": 0.9, "f1": 0.85,
                                 "box_iou": 0.7, "best_val_box_iou": 0.72, "best_epoch": 1, "train_seconds": 60.0})
    write(run / "history.csv", "epoch,box_loss,class_loss,loss,val_accuracy,val_box_iou,val_f1,val_loss\n"
                               "0,0.2,1.0,1.2,0.5,0.72,0.4,1.0\n1,0.1,0.5,0.6,0.9,0.7,0.85,0.8\n")
    write(run / "run.json", {"argv": ["run", "model=localizer", "dataset=drinks_objects"], "git_commit": "abc123"})
    code, out, err = run_report(capsys, "localizer-doc", str(run), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "localizer.md").read_text()
    assert ("| [localizer_drinks](runs/localizer_drinks/) | 96x96 | 1.0, 1.0 | 2 | 0.900 | 0.850 | 0.700 | "
            "the test split | 1 (val_box_iou 0.720) | 60.0 |") in page
    assert "## `localizer_drinks`: per epoch (the test split)" in page
    assert "- `localizer_drinks`: `run model=localizer dataset=drinks_objects` (commit `abc123`)" in page
    assert "| 2 | 0.600 | 0.500 | 0.100 | 0.800 | 0.900 | 0.850 | 0.700 |" in page
    write(run / "config.yaml", {"model": {"name": "localizer", "alpha": 1.0, "beta": 1.0},
                                "dataset": {"name": "drinks_objects", "validation": 50, "options": {"image_size": [96, 96]}},
                                "trainer": {"checkpoint": {"monitor": "val_box_iou", "mode": "max"}}})
    assert run_report(capsys, "localizer-doc", str(run), "--docs", str(tmp_path))[0] == 0
    assert "| 50 held-out photos | 1 (val_box_iou" in (tmp_path / "localizer.md").read_text()
    write(run / "metrics.json", {"task": "evaluate", "model": "localizer"})
    code, _, err = run_report(capsys, "localizer-doc", str(run), "--docs", str(tmp_path))
    assert code == 2 and "is not a localizer training run" in err


def test_the_committed_localizer_page_is_the_one_its_records_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    records = sorted((docs / "runs").glob("localizer_*"))
    if not records:
        pytest.skip("no localizer run record committed")
    code, _, err = run_report(capsys, "localizer-doc", *map(str, records), "--docs", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "localizer.md").read_text() == (docs / "localizer.md").read_text()


def test_classical_doc_lists_each_method_with_its_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    otsu, kmeans = tmp_path / "runs" / "classical_otsu", tmp_path / "runs" / "classical_kmeans_segmentation"
    write(otsu / "config.yaml", {"image": None, "model": {"name": "otsu", "variant": "standard", "objects": "bright"}})
    write(otsu / "metrics.json", {"task": "train", "threshold": 107.0, "segments": 154, "adapted_rand_error": 0.0703,
                                  "adapted_rand_precision": 0.9028, "adapted_rand_recall": 0.9582})
    write(otsu / "run.json", {"argv": ["run", "model=otsu"], "git_commit": "abc123"})
    write(otsu / "overlay.png", b"png")
    write(kmeans / "config.yaml", {"image": "/data/house.jpg", "model": {"name": "kmeans_segmentation", "k": 3}})
    write(kmeans / "metrics.json", {"task": "train", "segments": 12, "clusters": 3})
    write(kmeans / "run.json", {"argv": ["run", "model=kmeans_segmentation", "image=/data/house.jpg"], "git_commit": "abc123"})
    code, out, err = run_report(capsys, "classical-doc", str(otsu), str(kmeans), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "segmentation_classical.md").read_text()
    assert ("| [classical_otsu](runs/classical_otsu/) | `otsu` | objects=bright, variant=standard | coins | 107 | 154 | "
            "0.070 | 0.903 | 0.958 |") in page
    assert "| `kmeans_segmentation` | k=3 | house.jpg | - | 12 | - | - | - |" in page
    assert "- `classical_otsu`: `run model=otsu` (commit `abc123`)" in page
    assert "Lowest adapted Rand error: `classical_otsu` (0.070)." in page
    assert page.index("| [classical_otsu]") < page.index("| [classical_kmeans_segmentation]")  # in the book's order
    assert "![classical_otsu: regions over the image](runs/classical_otsu/overlay.png)" in page
    assert "## `classical_kmeans_segmentation`" not in page  # no figure copied: no section
    write(tmp_path / "runs" / "ssd" / "config.yaml", {"model": {"name": "ssd"}})
    code, _, err = run_report(capsys, "classical-doc", str(tmp_path / "runs" / "ssd"), "--docs", str(tmp_path))
    assert code == 2 and "is a run of model 'ssd'; give runs of threshold_hist, otsu, watershed, kmeans_segmentation" in err


def test_the_committed_classical_page_is_the_one_its_records_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    records = sorted((docs / "runs").glob("classical_*"))
    if not records:
        pytest.skip("no classical segmentation record committed")
    code, _, err = run_report(capsys, "classical-doc", *map(str, records), "--docs", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "segmentation_classical.md").read_text() == (docs / "segmentation_classical.md").read_text()


def test_the_jobs_index_names_each_jobs_overrides_status_and_main_metric(tmp_path: Path) -> None:
    from adl_runner.runner.reports.jobs_index import write_jobs_index

    for job, overrides, metrics in (("0", ["model=wgan", "seed=1"], {"status": "completed", "best_fid": 12.5, "best_epoch": 3}),
                                    ("1", ["model=wgan", "seed=2"], None),
                                    ("10", ["model=mlp"], {"status": "completed", "best_val_accuracy": None, "test_accuracy": 0.97})):
        (tmp_path / job / ".hydra").mkdir(parents=True)
        (tmp_path / job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
        if metrics is not None:
            (tmp_path / job / "metrics.json").write_text(json.dumps(metrics))
    assert write_jobs_index(tmp_path) == tmp_path / "jobs.md"
    assert (tmp_path / "jobs.md").read_text().splitlines()[4:] == [
        "| [0](0/) | `model=wgan seed=1` | completed | best_fid | 12.5 |",
        "| [1](1/) | `model=wgan seed=2` | not finished | - | - |",
        "| [10](10/) | `model=mlp` | completed | test_accuracy | 0.97 |"]
    assert write_jobs_index(tmp_path / "0") is None  # no numbered job dirs: nothing written


def test_the_contact_sheet_shows_each_jobs_main_figure_titled_with_its_overrides(tmp_path: Path, monkeypatch) -> None:
    import matplotlib.pyplot as plt
    from PIL import Image

    from adl_runner.runner.reports import jobs_index

    for job, metric_figure in (("0", "fid.png"), ("1", "loss.png")):
        (tmp_path / job / ".hydra").mkdir(parents=True)
        (tmp_path / job / ".hydra" / "overrides.yaml").write_text(f"- seed={job}\n")
        (tmp_path / job / "metrics.json").write_text(json.dumps({"status": "completed", "best_fid": 3.0}))
        for name in ("fid.png", "loss.png"):
            Image.new("RGB", (40, 30), (255, 0, 0) if name == metric_figure else (0, 0, 255)).save(tmp_path / job / name)
    titles: list = []
    monkeypatch.setattr(plt.Axes, "set_title", lambda self, text, **kw: titles.append(text))
    jobs_index.write_jobs_index(tmp_path)
    assert (tmp_path / "contact.png").is_file() and "![the main figure of each job](contact.png)" in (tmp_path / "jobs.md").read_text()
    assert titles == ["seed=0", "seed=1"]
    assert jobs_index.main_figure(tmp_path / "0", "best_fid").name == "fid.png"
    assert jobs_index.main_figure(tmp_path / "1", "test_accuracy").name == "loss.png"


# -- mine-doc ----------------------------------------------------------------------------------------

def _mine_gaussian(root: Path, name: str, rho: float, estimate: float, bias_correction: bool = False) -> Path:
    run = root / name
    write(run / "config.yaml", {"model": {"name": "mine", "bias_correction": bias_correction}, "dataset": {"name": "gaussian", "rho": rho},
                                "trainer": {"steps": 200, "steps_per_epoch": 100}})
    write(run / "metrics.json", {"task": "train", "seed": 42, "steps_completed": 200, "mi_estimate": estimate, "train_mi": 0.15,
                                 "mi_histogram": 0.146, "mi_true": 0.143841})
    write(run / "history.csv", "epoch,loss,mi\n0,-0.11,0.11\n1,-0.14,0.14\n")
    write(run / "run.json", {"argv": ["run", "model=mine", f"dataset.rho={rho}"], "git_commit": "abc123"})
    return run


def test_the_page_puts_each_estimate_beside_the_exact_and_the_books_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    near, far = _mine_gaussian(runs, "mine_a", 0.5, 0.1421), _mine_gaussian(runs, "mine_b", 0.5, 0.1300, bias_correction=True)
    probe = runs / "mine_encoder_mnist"
    write(probe / "config.yaml", {"model": {"name": "mine_encoder", "latent_dim": 10, "book_compat": False},
                                  "dataset": {"name": "mnist", "train_limit": 30720}, "trainer": {"epochs": 1, "batch_size": 1024}})
    write(probe / "metrics.json", {"task": "train", "steps_completed": 30, "accuracy": 0.8123, "mi_estimate": 0.9})
    write(probe / "run.json", {"argv": ["run", "model=mine_encoder"], "git_commit": "def456"})
    code, out, err = run_report(capsys, "mine-doc", str(near), str(far), str(probe), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "mine.md").read_text()
    assert ("| [mine_a](runs/mine_a/) | 0.5 | 42 | 200 | no | 0.1421 | 0.1500 | 0.1460 | 0.1438 | -0.0017 | yes | "
            "0.142186 (mean of steps 901-1000) | 0.145158; 0.147247 |") in page
    assert "| [mine_b](runs/mine_b/) | 0.5 | 42 | 200 | yes | 0.1300 |" in page and "| -0.0138 | no |" in page
    assert "| record | 100 | 200 |\n|---|---|---|\n| book, rho = 0.5 | 0.1123 | 0.1417 |\n| `mine_a` | 0.1100 | 0.1400 |\n| `mine_b` |" in page
    assert ("| [mine_encoder_mnist](runs/mine_encoder_mnist/) | train | 10 | 30 steps of batch 1024 (the first 30,720 training images, 1 epoch) | "
            "held-out: trained on the training embeddings, scored on the test embeddings | 81.23 % | 93.86 % | 0.9000 |") in page
    assert "- `mine_a`: `run model=mine dataset.rho=0.5` (commit `abc123`)" in page
    write(runs / "mlp" / "config.yaml", {"model": {"name": "mlp"}})
    code, _, err = run_report(capsys, "mine-doc", str(runs / "mlp"), "--docs", str(tmp_path))
    assert code == 2 and "is a run of model 'mlp'; give runs of mine, mine_encoder" in err


def test_the_committed_mine_page_is_the_one_its_records_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    records = sorted((docs / "runs").glob("mine_*"))
    if not records:
        pytest.skip("no MINE record committed")
    code, _, err = run_report(capsys, "mine-doc", *map(str, records), "--docs", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "mine.md").read_text() == (docs / "mine.md").read_text()


def test_the_actor_critic_comparison_page_holds_what_its_records_generate() -> None:
    from adl_runner.runner.reports import rl_results

    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    page = (docs / "actor_critic_book_compat.md").read_text()
    for episodes in (150, 1000):
        for switch in ("false", "true"):
            assert rl_results.main(["pg", str(docs / "runs" / f"ac{episodes}_envbook_{switch}")]) in page


def _judge_record(root: Path) -> Path:
    record = root / "runs" / "gan_quality_judge"
    write(record / "metrics.json", {"test_accuracy": 0.9921, "fid_train_60000_vs_test": 0.41, "fid_train_10000_vs_test": 0.52,
                                    "fid_train_1000_vs_test": 2.25, "fid_uniform_noise_10000_vs_test": 412.6, "judge_version": 1,
                                    "seed": 0, "recipe": {"epochs": 8, "batch_size": 128, "learning_rate": 0.001, "train_limit": None}})
    write(record / "run.json", {"argv": ["/x/gan_quality.py", "--record", "docs/results/runs/gan_quality_judge"], "git_commit": "abc123"})
    return record


def test_judge_doc_puts_the_judges_baselines_in_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_report(capsys, "judge-doc", str(_judge_record(tmp_path)), "--docs", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "gan_quality.md").read_text()
    assert "test accuracy **99.21 %**" in page and "for 8 epochs of batch 128, Adam 0.001" in page
    assert "| the first 1,000 real training digits | 2.25 |" in page and "| 10,000 images of uniform noise | 412.60 |" in page
    assert ("- `gan_quality_judge`: `python -m adl_runner.models.metrics.gan_quality --record docs/results/runs/gan_quality_judge` "
            "(commit `abc123`)") in page


def test_judge_doc_refuses_a_record_without_baselines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = _judge_record(tmp_path)
    write(record / "metrics.json", {"test_accuracy": 0.99})
    code, out, err = run_report(capsys, "judge-doc", str(record), "--docs", str(tmp_path))
    assert code == 2 and out == "" and "holds no judge baselines" in err and err.count("\n") == 1
    assert not (tmp_path / "gan_quality.md").exists()



def test_the_committed_gan_quality_page_is_the_one_its_record_generates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results"
    code, _, err = run_report(capsys, "judge-doc", str(docs / "runs" / "gan_quality_judge"), "--docs", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "gan_quality.md").read_text() == (docs / "gan_quality.md").read_text()
