"""The real distributed path: `python train.py trainer=ddp_cpu` (Lightning DDP, 2 gloo processes on CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.cli.entrypoint import TINY, run_train

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points


RUN = ["trainer=ddp_cpu", "trainer.max_epochs=2", "trainer.limit_train_batches=4", "trainer.limit_val_batches=1",
       "trainer.limit_test_batches=1", "data.batch_size=32"]
RANK_WEIGHTS = "+callbacks.rank_weights._target_=tests.cli.rank_weights.RankWeights"


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory) -> Path:
    """An uninterrupted `python train.py trainer=ddp_cpu` run of 2 epochs × 4 steps; its parent folder."""
    root = tmp_path_factory.mktemp("ddp")
    (root / "runs").mkdir()
    result = run_train([*RUN, RANK_WEIGHTS, f"+callbacks.rank_weights.dirpath={root / 'ranks'}"], root / "runs" / "ddp", isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    (root / "stdout.txt").write_text(result.stdout)
    (root / "stderr.txt").write_text(result.stderr)
    return root


def test_ddp_cpu_trains_identical_replicas_into_one_run_directory(ddp_run):
    run_dir = ddp_run / "runs" / "ddp"
    # one run directory: the child process wrote into the parent's
    assert [p.name for p in (ddp_run / "runs").iterdir()] == ["ddp"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert isinstance(metrics["test/psnr"], float)
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert len(checkpoints) == 2 and checkpoints[0].startswith("best-epoch") and checkpoints[1] == "last.ckpt"
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # wandb from rank 0 only
    assert (ddp_run / "stdout.txt").read_text().count("metrics.json") == 1  # the summary is printed once
    assert "sync_dist" not in (ddp_run / "stderr.txt").read_text()  # epoch values are averaged over the ranks
    # the replicas hold the same weights after training
    rank0, rank1 = (torch.load(ddp_run / "ranks" / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=key)


def test_ddp_stopped_mid_epoch_and_resumed_ends_identical(ddp_run, tmp_path):
    """SIGTERM in the middle of epoch 1 (step 6 of 8) on both ranks, then `ckpt_path=last`: every rank
    continues its share of the epoch where it stopped, and the weights equal the uninterrupted run's."""
    run_dir = tmp_path / "interrupted"
    kill = ["+callbacks.kill._target_=tests.cli.signals.SignalAtStep", "+callbacks.kill.step=6"]
    result = run_train([*RUN, *kill], run_dir, isolated=True)
    assert result.returncode == 143, result.stderr[-3000:]
    assert "after step 6" in result.stderr and "Traceback" not in result.stderr
    stopped = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert stopped["global_step"] == 6

    resumed = run_train([*RUN, "ckpt_path=last"], run_dir, isolated=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final, straight = (torch.load(d / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
                       for d in (run_dir, ddp_run / "runs" / "ddp"))
    assert final["global_step"] == straight["global_step"] == 8
    for key, value in straight["state_dict"].items():
        torch.testing.assert_close(final["state_dict"][key], value, rtol=0, atol=1e-6, msg=key)
    moved = max((value - stopped["state_dict"][key]).abs().max() for key, value in straight["state_dict"].items())
    assert moved > 1e-4  # the last two steps really happened after the stop


def test_ddp_standardization_statistics_cover_the_whole_training_set(tmp_path):
    """Each process reads half of the digits; the merged statistics equal one pass over all of them."""
    from gennet.data import MNIST5kDataModule
    from gennet.models import ScatteringFeatures

    run_dir = tmp_path / "runs" / "ddp_classifier"
    run_dir.parent.mkdir()
    ranks = tmp_path / "ranks"
    args = ["+experiment=mnist_classifier", "trainer=ddp_cpu", *TINY, "logger=csv",
            "+callbacks.rank_weights._target_=tests.cli.rank_weights.RankWeights", f"+callbacks.rank_weights.dirpath={ranks}"]
    result = run_train(args, run_dir, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert isinstance(json.loads((run_dir / "metrics.json").read_text())["test/acc"], float)
    assert "sync_dist" not in result.stderr  # epoch values are averaged over the ranks

    datamodule = MNIST5kDataModule(batch_size=500)
    datamodule.setup()
    features = ScatteringFeatures((32, 32), 1, J=2, L=8, max_order=2, phases=4)
    features.fit_(x for x, _ in datamodule._loader(datamodule.train_dataset, train=False))
    for rank in (0, 1):
        state = torch.load(ranks / f"rank{rank}.pt", weights_only=True)
        prefix = "network.features.standardization."
        assert int(state[prefix + "count"]) == 4000 * 8 * 8
        torch.testing.assert_close(state[prefix + "mean"], features.standardization.mean, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(state[prefix + "m2"], features.standardization.m2, rtol=1e-9, atol=1e-9)
