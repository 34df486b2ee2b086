"""train_prior.py end to end on a real (tiny) generator run: a closed-form prior, a flow prior killed and resumed
exactly, and bad input refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gennet.priors import GaussianMixturePrior, load_prior
from tests.cli.entrypoint import run_script, run_train

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points

FLOW = ["prior.width=16", "prior.depth=1", "prior.time_dim=16", "prior.steps=2", "fit_images=256", "batch_size=64",
        "trainer.max_epochs=2", "trainer.limit_train_batches=3", "callbacks.sample_grids.num_samples=4", "logger=csv"]
KILL = ["+callbacks.kill._target_=tests.cli.signals.SignalAtStep", "+callbacks.kill.step=4"]


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> Path:
    """``last.ckpt`` of a tiny default generator run (2 training steps)."""
    run_dir = tmp_path_factory.mktemp("generator") / "run"
    result = run_train(["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "test=false",
                        "logger=csv", "callbacks.reconstruction_grids=null"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


def train_prior(args: list[str], run_dir: Path):
    return run_script("train_prior", [*args, f"hydra.run.dir={run_dir}"], run_dir.parent)


def test_mixture_prior_is_fitted_in_closed_form(generator, tmp_path):
    run_dir = tmp_path / "mixture"
    result = train_prior([f"generator_ckpt={generator}", "prior=mixture", "prior.num_components=3", "prior.dim=8",
                          "fit_images=200", "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    prior = load_prior(run_dir / "prior.pt")
    assert isinstance(prior, GaussianMixturePrior) and prior.shape == (65, 8, 8)
    embeddings = torch.load(run_dir / "embeddings.pt", weights_only=True)
    assert embeddings["train"].shape == (200, 65, 8, 8) and embeddings["val"].shape[0] == 500
    assert json.loads((run_dir / "metrics.json").read_text())["val/log_likelihood"] < 0
    assert (run_dir / "samples" / "samples.png").is_file()


def test_flow_prior_killed_and_resumed_ends_identical(generator, tmp_path):
    straight = tmp_path / "straight"
    result = train_prior([f"generator_ckpt={generator}", *FLOW], straight)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (straight / "samples").glob("*.png")) == ["epoch_000_samples.png", "epoch_001_samples.png"]
    interrupted = tmp_path / "interrupted"
    stopped = train_prior([f"generator_ckpt={generator}", *FLOW, *KILL], interrupted)
    assert stopped.returncode == 143 and "Traceback" not in stopped.stderr and "ckpt_path=last" in stopped.stderr
    resumed = train_prior([f"generator_ckpt={generator}", *FLOW, "ckpt_path=last"], interrupted)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = {name: torch.load(run / "checkpoints" / "last.ckpt", weights_only=True) for name, run in
             (("straight", straight), ("resumed", interrupted))}
    assert final["straight"]["global_step"] == final["resumed"]["global_step"] == 6
    for key, value in final["straight"]["state_dict"].items():
        torch.testing.assert_close(final["resumed"]["state_dict"][key], value, rtol=0, atol=1e-6, msg=key)
    a, b = load_prior(straight / "prior.pt"), load_prior(interrupted / "prior.pt")
    torch.testing.assert_close(a.sample(3, torch.Generator().manual_seed(0)), b.sample(3, torch.Generator().manual_seed(0)))


def test_prior_fitted_on_reconstructions_sees_phi_of_g_of_phi(generator, tmp_path):
    """``fit_on=reconstructions``: the embeddings kept are ``Φ(G(Φ(x)))`` of the training images, not ``Φ(x)``."""
    from gennet.cli.generation import datamodule_for, load_generator

    run_dir = tmp_path / "reconstructions"
    result = train_prior([f"generator_ckpt={generator}", "prior=mixture", "prior.num_components=2", "prior.dim=4",
                          "fit_images=16", "fit_on=reconstructions", "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    kept = torch.load(run_dir / "embeddings.pt", weights_only=True)["train"]
    module, checkpoint = load_generator(str(generator), torch.device("cpu"))
    datamodule = datamodule_for(checkpoint, None, str(generator))
    datamodule.setup("fit")
    x = torch.stack([datamodule.train_dataset[i][0] for i in range(16)])
    with torch.no_grad():
        w = module.generator.encode(x)
        expected = module.generator.encode(module.generator.decode(w).clamp(-1, 1))
    torch.testing.assert_close(kept, expected, rtol=1e-4, atol=1e-4)
    assert (kept - w).abs().max() > 1e-2  # the reconstructions' embeddings differ from the images'


@pytest.mark.parametrize("args, key", [
    (["fit_on=pixels"], "error: fit_on:"),
    (["generator_ckpt=/nowhere/last.ckpt"], "error: generator_ckpt:"),
    (["prior._target_=os.system"], "error: prior:"),
    (["prior.steps=0"], "error: prior:"),
    (["batch_size=0"], "error: batch_size:"),
])
def test_bad_input_is_one_line(generator, tmp_path, args, key):
    result = train_prior([f"generator_ckpt={generator}", "logger=csv", *args], tmp_path / "bad")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert lines[0].startswith(key), lines[0]
