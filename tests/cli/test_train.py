"""End-to-end runs of the real entry point `python train.py` on real images (tiny limits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.entrypoint import TINY, run_train

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points


def assert_run_outputs(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("train/psnr", "val/psnr", "test/psnr", "test/ssim", "test/psnr_lowpass", "train/sparsity",
                "train/nonzeros_per_pixel", "train/duality_gap", "test/nonzeros_per_pixel", "test/duality_gap",
                "val/unused_atoms"):
        assert isinstance(metrics[key], float), key
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((run_dir / "checkpoints").glob("best-*.ckpt"))
    for kind in ("originals", "reconstructions", "lowpass", "atom_usage"):
        assert (run_dir / "samples" / f"epoch_000_{kind}.png").is_file()
    return metrics


def test_atoms_grid_shows_the_dictionary_in_image_space(tmp_path):
    """The default run's atom grid: 64 atoms U⁻¹ D e_k (16×16 crops, shown 4× as 64×64), 8 per row, each a localized pattern."""
    import numpy as np
    from PIL import Image

    run_dir = tmp_path / "atoms"
    result = run_train([*TINY, "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    grid = np.asarray(Image.open(run_dir / "samples" / "epoch_000_atoms.png").convert("L"), dtype=np.float64)
    assert grid.shape == (8 * 66 + 2, 8 * 66 + 2)  # legible: each atom upscaled (nearest) to 64 pixels
    cells = np.stack([grid[2 + 66 * i : 66 * (i + 1), 2 + 66 * j : 66 * (j + 1)] for i in range(8) for j in range(8)])
    assert cells.std(axis=(1, 2)).min() > 5  # no blank atom
    assert np.abs(cells - cells.mean(0)).mean() > 5  # the atoms differ


def test_default_run_writes_everything(tmp_path):
    run_dir = tmp_path / "default"
    result = run_train(TINY, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = assert_run_outputs(run_dir)
    assert 0 < metrics["test/ssim"] <= 1
    assert 0 < metrics["test/nonzeros_per_pixel"] < 1 and 0 <= metrics["test/duality_gap"] < 0.1
    offline_runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert offline_runs and list(offline_runs[0].glob("*.wandb"))
    assert str(run_dir) in result.stdout  # tells where things went
    # the best checkpoint loads with weights_only=True and rebuilds the model
    import torch

    from gennet.lit import GeneratorModule

    ckpt = torch.load(next((run_dir / "checkpoints").glob("best-*.ckpt")), weights_only=True, map_location="cpu")
    model = GeneratorModule(**ckpt["hyper_parameters"])
    model.load_state_dict(ckpt["state_dict"])


def test_cnn_baseline_trains_with_the_same_entry_point(tmp_path):
    run_dir = tmp_path / "cnn"
    result = run_train(["model=cnn_generator", *TINY, "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert isinstance(metrics["test/psnr"], float) and "train/sparsity" not in metrics and "val/unused_atoms" not in metrics
    assert (run_dir / "samples" / "epoch_000_reconstructions.png").is_file()
    assert not (run_dir / "samples" / "epoch_000_atom_usage.png").exists()
    assert not (run_dir / "samples" / "epoch_000_atoms.png").exists()  # a CNN stores no atoms


def test_celeba_experiment_on_real_faces(tmp_path, celeba_root):
    run_dir = tmp_path / "celeba"
    args = ["+experiment=celeba", f"data.root={celeba_root}", "data.batch_size=8", "data.num_workers=0",
            *TINY, "trainer.accelerator=cpu", "logger=csv"]
    result = run_train(args, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_run_outputs(run_dir)
    assert (run_dir / "csv").is_dir()


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.encoder.J=6", "model.encoder.J"),
        ("model.lambda_star=0", "model.lambda_star"),
        ("model.lambda_star=-0.1", "model.lambda_star"),
        ("model.lambda_star=1.5", "model.lambda_star"),  # relative to λ_max: 1 or more gives a zero code
        ("model.solver=lars", "model.solver"),
        ("model.solver._target_=gennet.sparse.LARS", "model.solver._target_"),
        ("model.decoder._target_=gennet.models.ResNet18", "model.decoder._target_"),
        ("+model.architecture=cnn", "model.architecture"),  # replaced by model.decoder._target_ / model=cnn_generator
        ("model.checkpoint_layers=true", "model.checkpoint_layers"),  # ISTC only
        ("model.replace_unused_atoms=maybe", "model.replace_unused_atoms"),
        ("data.batch_size=0", "data.batch_size"),
        ("model.n_layers=0", "model.n_layers"),
        ("model.encoder.A=3", "model.encoder.A"),
        ("ckpt_path=/nonexistent/last.ckpt", "ckpt_path"),
        ("seed=abc", "seed"),
        ("test=maybe", "test"),
        ("data.image_size=0", "data.image_size"),
        ("model.architecture=vae", "model.architecture"),
        ("model.loss=huber", "model.loss"),
        ("model.weight_decay=-1", "model.weight_decay"),
        ("trainer.devices=0", "trainer.devices"),
        ("trainer.precision=17", "trainer"),
        ("trainer.limit_train_batches=-1", "trainer.limit_train_batches"),
        ("callbacks.reconstruction_grids.num_images=0", "callbacks.reconstruction_grids.num_images"),
    ],
)
def test_bad_values_stop_with_one_line(tmp_path, override, key):
    run_dir = tmp_path / "bad"
    result = run_train([override], run_dir)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}:"), result.stderr
    assert not (run_dir / "checkpoints").exists()


def test_missing_data_root_names_the_path(tmp_path):
    missing = tmp_path / "nowhere"
    run_dir = tmp_path / "bad"
    result = run_train(["+experiment=celeba", f"data.root={missing}", "trainer.accelerator=cpu"], run_dir)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: data.root:") and str(missing) in lines[0]


def test_unset_data_root_is_named(tmp_path):
    result = run_train(["data=folder"], tmp_path / "bad")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: data.root:")


def test_a_malicious_pickle_checkpoint_is_refused_without_running_it(tmp_path):
    import pickle

    from tests.cli.test_generation_scripts import Payload

    marker = tmp_path / "payload_ran"
    bad = tmp_path / "evil.ckpt"
    bad.write_bytes(pickle.dumps({"state_dict": Payload(marker), "hyper_parameters": {}}))
    result = run_train([f"ckpt_path={bad}"], tmp_path / "bad")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ckpt_path:") and "not a plain checkpoint" in lines[0]
    assert not marker.exists()


def test_an_existing_run_directory_is_never_overwritten(tmp_path):
    run_dir = tmp_path / "run"
    assert run_train([*TINY, "logger=csv"], run_dir).returncode == 0
    before = {p: p.read_bytes() for p in [run_dir / "metrics.json", *(run_dir / "checkpoints").glob("*.ckpt")]}
    again = run_train([*TINY, "logger=csv"], run_dir)
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert again.stderr.strip().startswith("error: hydra.run.dir:") and "ckpt_path=last" in again.stderr
    assert all(p.read_bytes() == content for p, content in before.items())


def test_an_empty_data_folder_is_named(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    result = run_train(["data=folder", f"data.root={empty}"], tmp_path / "bad")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: data.root:") and str(empty) in lines[0]
