"""End-to-end runs of `python train.py` for the scattering classifiers, on the bundled digits and an
ImageNet layout built from real photographs."""

from __future__ import annotations

import json

import pytest
import torch

from gennet.lit import ClassifierModule
from tests.cli.entrypoint import TINY, run_train

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points


def load_metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def test_mnist_classifier_experiment_reaches_97_percent(tmp_path):
    """The acceptance run: ``python train.py +experiment=mnist_classifier`` (6 epochs, ~1.5 min on 2 cores)."""
    run_dir = tmp_path / "mnist_classifier"
    result = run_train(["+experiment=mnist_classifier", "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = load_metrics(run_dir)
    assert metrics["test/acc"] >= 0.97, metrics
    assert metrics["test/acc_top5"] >= metrics["test/acc"]
    assert 0 < metrics["train/sparsity"] < 1 and metrics["train/lambda"] >= 0.05
    assert not (run_dir / "samples").exists()  # no reconstruction grids for a classifier
    best = next((run_dir / "checkpoints").glob("best-*.ckpt"))
    ckpt = torch.load(best, weights_only=True, map_location="cpu")
    model = ClassifierModule(**ckpt["hyper_parameters"])
    model.load_state_dict(ckpt["state_dict"])
    assert model.network.features.standardization.fitted  # the train-set statistics travel with it
    assert int(model.network.features.standardization.count) == 4000 * 8 * 8  # every training digit, 8×8 positions


def test_imagenet_experiment_on_real_photographs(tmp_path, imagenet_root):
    """The acceptance command of issue 3, on a 7-class ImageNet layout."""
    run_dir = tmp_path / "imagenet"
    args = ["+experiment=imagenet", f"data.root={imagenet_root}", "data.image_size=64", "data.batch_size=8",
            "data.num_workers=0", *TINY, "trainer.accelerator=cpu", "logger=csv"]
    result = run_train(args, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = load_metrics(run_dir)
    for key in ("test/acc", "test/acc_top5", "val/acc", "train/loss", "train/sparsity"):
        assert isinstance(metrics[key], float), key
    assert 0 <= metrics["test/acc"] <= metrics["test/acc_top5"] <= 1
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert ckpt["hyper_parameters"]["num_classes"] == 7 and ckpt["hyper_parameters"]["num_atoms"] == 2048


def test_scatnet_baseline_runs(tmp_path):
    run_dir = tmp_path / "scatnet"
    result = run_train(["+experiment=mnist_classifier", "model.architecture=scatnet", *TINY, "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = load_metrics(run_dir)
    assert isinstance(metrics["test/acc"], float) and "train/sparsity" not in metrics


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.scattering.J=6", "model.scattering.J"),
        ("model.scattering.phases=3", "model.scattering.phases"),
        ("model.proj_kernel=2", "model.proj_kernel"),
        ("model.dropout=1.5", "model.dropout"),
        ("model.head=svm", "model.head"),
        ("model.lambda_star=0", "model.lambda_star"),
        ("model.architecture=resnet", "model.architecture"),
    ],
)
def test_bad_classifier_values_stop_with_one_line(tmp_path, override, key):
    run_dir = tmp_path / "bad"
    result = run_train(["+experiment=mnist_classifier", override], run_dir)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}:"), result.stderr
    assert not (run_dir / "checkpoints").exists()


def test_classifier_on_a_dataset_without_labels_is_refused(tmp_path, celeba_root):
    result = run_train(["+experiment=mnist_classifier", "data=celeba", f"data.root={celeba_root}"], tmp_path / "bad")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: data: ") and "class" in result.stderr


def test_a_diverging_run_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    """The learning rate jumps ×1e38 after epoch 0 (step schedule, gamma 1e38): the loss turns NaN in epoch 1."""
    run_dir = tmp_path / "diverged"
    args = ["+experiment=mnist_classifier", "model.architecture=scatnet", "model.lr_schedule=step",
            "model.lr_step_epochs=1", "model.lr_gamma=1e38", "trainer.max_epochs=3", "trainer.limit_train_batches=3",
            "trainer.limit_val_batches=1", "logger=csv"]
    result = run_train(args, run_dir)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: training: non-finite loss") and "at step 4" in line and "last.ckpt" in line
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert last["global_step"] == 3  # the end of epoch 0, before the divergence
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())
    assert not (run_dir / "metrics.json").exists()
