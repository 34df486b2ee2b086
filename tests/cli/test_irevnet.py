"""End-to-end: `python train.py +experiment=mnist_irevnet` (tiny limits) and `python analyze.py` on its checkpoint
(every section, the invertibility numbers), the ImageNet config composed and one step on the CPU, and bad input —
a listed section that does not apply, a checkpoint of another architecture, images of the wrong size — one line,
exit 2, nothing overwritten."""

from __future__ import annotations

import json

import pytest
import torch

from gennet.lit import ClassifierModule
from tests.cli.entrypoint import TINY, assert_no_temporaries, run_script, run_train
from tests.cli.test_hybrids import compose

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points

ANALYZE = ["max_images=40", "max_train_images=120", "lipschitz.pairs=2", "lipschitz.steps=2", "lipschitz.power_iterations=10",
           "invertibility.edit_pairs=8", "invertibility.shown=4", "invertibility.pairs=2", "invertibility.steps=4",
           "invertibility.conditioning_points=2", "invertibility.power_iterations=5"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny training run of the digits' injective i-RevNet (3 batches, 1 epoch); its run directory."""
    run_dir = tmp_path_factory.mktemp("irevnet") / "run"
    result = run_train(["+experiment=mnist_irevnet", *TINY, "trainer.limit_train_batches=3", "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="module")
def hybrid_checkpoint(tmp_path_factory):
    """A checkpoint of another architecture (a small hybrid), as a run writes one: weights and hyper-parameters."""
    module = ClassifierModule(network={"_target_": "gennet.models.HybridScatteringNet", "J": 2, "widths": [8], "blocks": [1]})
    path = tmp_path_factory.mktemp("hybrid") / "hybrid.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, path)
    return path


def test_train_and_analyze_an_irevnet(run, tmp_path):
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    hp = checkpoint["hyper_parameters"]
    assert hp["network"]["_target_"] == "gennet.models.IRevNet" and hp["network"]["widths"] == [16, 64, 256]
    assert 0 <= json.loads((run / "metrics.json").read_text())["test/acc"] <= 1
    output = tmp_path / "analysis"
    result = run_script("analyze", [f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", f"output={output}", *ANALYZE], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    analysis = json.loads((output / "analysis.json").read_text())
    assert analysis["network"] == "IRevNet" and "angular" not in analysis
    reconstruction = analysis["invertibility"]["reconstruction"]
    assert reconstruction["float32"]["max_abs"] <= 1e-4 and reconstruction["float64"]["max_abs"] <= 1e-10
    assert reconstruction["feature_values"] == 32 * reconstruction["input_values"] == 32 * 1024  # injective: 512 × 8 × 8
    assert analysis["invertibility"]["interpolation"]["endpoint_error"] <= 1e-4
    assert min(analysis["invertibility"]["conditioning"]["kappa"]) >= 1 - 1e-3
    probes = analysis["probes"]
    assert [s["stage"] for s in probes["stages"]] == ["init", "stage1", "stage2", "stage3", "pool", "fc"]
    assert all(0 <= s[w]["linear_probe"] <= 1 and s[w]["pca_dimension"] >= 1 for s in probes["stages"] for w in ("trained", "control"))
    for figure in ("lipschitz", "separation", "probes", "reconstruction", "interpolation", "edition", "conditioning"):
        assert (output / f"{figure}.png").stat().st_size > 10_000, figure
    report = (output / "analysis.md").read_text()
    assert "## Invertibility" in report and "Not applicable: `angular`" in report
    assert_no_temporaries(output)


def _one_line(result, key: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {key}:"), result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_input_is_one_line_and_nothing_is_overwritten(run, hybrid_checkpoint, tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "notes.txt").write_text("kept\n")
    # invertibility asked of a network without an inverse
    result = run_script("analyze", [f"ckpt_path={hybrid_checkpoint}", f"output={earlier}", "analysis=[invertibility]"], tmp_path)
    _one_line(result, "analysis")
    assert "invertibility: needs a network with an inverse" in result.stderr and "HybridScatteringNet" in result.stderr
    # images of another size than the network's
    result = run_script("analyze", [f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", f"output={earlier}", "+data.image_size=36"], tmp_path)
    _one_line(result, "data.image_size")
    assert sorted(p.name for p in earlier.iterdir()) == ["notes.txt"] and (earlier / "notes.txt").read_text() == "kept\n"
    # a checkpoint of another architecture given to train.py: refused before anything is written into the run
    before = {p: p.read_bytes() for p in (run / "checkpoints").iterdir()}
    result = run_train(["+experiment=mnist_irevnet", f"ckpt_path={hybrid_checkpoint}", "logger=csv"], tmp_path / "resumed")
    _one_line(result, "ckpt_path")
    assert "does not fit the configured model" in result.stderr and not (tmp_path / "resumed" / "checkpoints").exists()
    assert {p: p.read_bytes() for p in (run / "checkpoints").iterdir()} == before


def test_imagenet_config_composes_to_the_papers_network_and_one_step_runs_on_the_cpu(tmp_path, imagenet_root):
    """The GPU config: the paper's i-RevNet (b) (125.1M parameters, Φ of 3 × 224² values) under trainer=ddp; one tiny
    step on the CPU (one gloo process, 64² crops, one block per stage, SyncBatchNorm off: it needs GPUs)."""
    from hydra.utils import instantiate

    cfg = compose("train", ["+experiment=imagenet_irevnet", "data.root=x"])
    assert cfg.trainer.strategy == "ddp" and cfg.trainer.sync_batchnorm and cfg.model.lr_step_epochs == 32
    module = instantiate(cfg.model, _convert_="all", image_size=224, channels=3, num_classes=1000)
    assert module.network.feature_shape == (3072, 7, 7) and not module.network.injective
    assert round(sum(p.numel() for p in module.network.parameters()) / 1e6, 1) == 125.1
    del module
    run_dir = tmp_path / "imagenet_irevnet"
    args = ["+experiment=imagenet_irevnet", f"data.root={imagenet_root}", "data.image_size=64", "data.batch_size=4",
            "data.num_workers=0", "model.network.blocks=[1,1,1,1]", "model.network.reversible=true",
            "trainer.accelerator=cpu", "trainer.devices=1", "trainer.sync_batchnorm=false", "trainer.precision=32-true",
            "trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
            "logger=csv"]
    result = run_train(args, run_dir, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 <= metrics["test/acc"] <= metrics["test/acc_top5"] <= 1
    hp = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")["hyper_parameters"]
    assert hp["num_classes"] == 7 and hp["network"]["widths"] == [24, 96, 384, 1536] and hp["network"]["reversible"]
