"""The real distributed path: `python train.py trainer=ddp_cpu` (Lightning DDP, 2 gloo processes on CPU)."""

from __future__ import annotations

import json

import torch

from tests.cli.entrypoint import TINY, run_train


def test_ddp_cpu_trains_identical_replicas_into_one_run_directory(tmp_path):
    run_dir = tmp_path / "runs" / "ddp"
    run_dir.parent.mkdir()
    ranks = tmp_path / "ranks"
    args = ["trainer=ddp_cpu", *TINY, "data.batch_size=32",
            "+callbacks.rank_weights._target_=tests.cli.rank_weights.RankWeights", f"+callbacks.rank_weights.dirpath={ranks}"]
    result = run_train(args, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    # one run directory: the child process wrote into the parent's
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ddp"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert isinstance(metrics["test/psnr"], float)
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["best-epoch000.ckpt", "last.ckpt"]
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # wandb from rank 0 only
    assert result.stdout.count("metrics.json") == 1  # the summary is printed once
    # the replicas hold the same weights after training
    rank0, rank1 = (torch.load(ranks / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=key)


def test_ddp_standardization_statistics_cover_the_whole_training_set(tmp_path):
    """Each process reads half of the digits; the merged statistics equal one pass over all of them."""
    from gennet.data import MNIST5kDataModule
    from gennet.models import ScatteringFeatures

    run_dir = tmp_path / "runs" / "ddp_classifier"
    run_dir.parent.mkdir()
    ranks = tmp_path / "ranks"
    args = ["+experiment=mnist_classifier", "trainer=ddp_cpu", *TINY, "logger=csv",
            "+callbacks.rank_weights._target_=tests.cli.rank_weights.RankWeights", f"+callbacks.rank_weights.dirpath={ranks}"]
    result = run_train(args, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert isinstance(json.loads((run_dir / "metrics.json").read_text())["test/acc"], float)

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
