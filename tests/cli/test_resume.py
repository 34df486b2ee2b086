"""Killed and resumed: `python train.py` stopped by a real SIGTERM / SIGINT mid-epoch, then resumed with
``ckpt_path=last`` in the same run directory, ends with the weights of an uninterrupted run."""

from __future__ import annotations

import pytest
import torch

from tests.cli.entrypoint import run_train

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points

# 4 epochs of 3 steps: unused atoms are replaced at the start of epoch 1 (step 3), so the stops at steps 4 and 8
# come after a replacement, and the resumed run must make the same ones. λ* = 0.3 (sparser than the default) so
# that some atoms go unused in the 3 steps of epoch 0: with the default every atom was used, nothing replaced.
RUN = ["trainer.max_epochs=4", "trainer.limit_train_batches=3", "trainer.limit_val_batches=1", "test=false",
       "logger=csv", "callbacks.reconstruction_grids=null", "model.lambda_star=0.3"]
KILL = "+callbacks.kill._target_=tests.cli.signals.SignalAtStep"


def final_state(run_dir) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    run_dir = tmp_path_factory.mktemp("resume") / "straight"
    result = run_train(RUN, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    assert json.loads((run_dir / "metrics.json").read_text())["train/replaced_atoms"] > 0  # the replacement ran
    return final_state(run_dir)


@pytest.mark.parametrize("signum, step", [("SIGTERM", 4), ("SIGINT", 8)])
def test_stopped_mid_epoch_and_resumed_ends_identical(uninterrupted, tmp_path, signum, step):
    run_dir = tmp_path / "interrupted"
    result = run_train([*RUN, KILL, f"+callbacks.kill.step={step}", f"+callbacks.kill.signum={signum}"], run_dir)
    assert result.returncode == 143, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"after step {step}" in result.stderr and "ckpt_path=last" in result.stderr
    stopped = final_state(run_dir)
    assert stopped["global_step"] == step and not list((run_dir / "checkpoints").glob("*.tmp-*"))

    resumed = run_train([*RUN, "ckpt_path=last"], run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = final_state(run_dir)
    assert final["global_step"] == uninterrupted["global_step"] == 12
    for key, value in uninterrupted["state_dict"].items():
        torch.testing.assert_close(final["state_dict"][key], value, rtol=0, atol=1e-6, msg=key)
    moved = max((uninterrupted["state_dict"][k] - stopped["state_dict"][k]).abs().max() for k in stopped["state_dict"])
    assert moved > 1e-3  # training after the stop really happened
