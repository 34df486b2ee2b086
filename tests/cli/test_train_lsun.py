"""End-to-end run of the real entry point `python train.py +experiment=lsun_bedroom` on a tiny LSUN
layout of real photographs (tests/data/lsun_layout.py), tiny limits, CPU."""

from __future__ import annotations

import json

import pytest
import torch

from gennet.lit.data_record import datamodule_from_record
from tests.cli.entrypoint import REPO, TINY, run_train
from tests.data.lsun_layout import lsun_layout, lsun_root  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points


def test_lsun_bedroom_experiment(tmp_path, lsun_root, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))  # inherited by the subprocess
    run_dir = tmp_path / "work" / "lsun"
    run_dir.parent.mkdir()
    repo_caches = set(REPO.glob("_cache_*"))
    args = ["+experiment=lsun_bedroom", f"data.root={lsun_root}", "data.batch_size=8", "data.num_workers=0",
            *TINY, "trainer.accelerator=cpu", "logger=csv"]
    result = run_train(args, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert isinstance(metrics["test/psnr"], float)
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    # the checkpoint records the data module, which rebuilds from the record
    record = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")["gennet_data"]
    assert record["_target_"] == "gennet.data.lsun.LSUNDataModule" and record["category"] == "bedroom"
    assert datamodule_from_record(record).split_sizes == {"train": 24, "val": 4, "test": 4}
    # torchvision's LSUNClass would leave _cache_<path letters> in the working directory
    assert not list(run_dir.parent.glob("_cache_*")) and set(REPO.glob("_cache_*")) == repo_caches
    assert len(list((cache / "gennet" / "lsun").glob("bedroom_*_lmdb-*.npz"))) == 2
