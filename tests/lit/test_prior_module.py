"""PriorModule in process, with a tiny Lightning Trainer (no subprocess).

What the module adds to its prior: an exponential moving average of the weights updated after every optimizer
step, ``θ̄ ← ema·θ̄ + (1 − ema)·θ`` (the weights validated and exported), and a validation loss with fixed noise —
the same number at every validation of the same weights, so that the best checkpoint is chosen on held-out data and
not on the draw.
"""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from gennet.lit import PriorModule

SHAPE = [3, 4, 4]
PRIOR = {"_target_": "gennet.priors.FlowMatchingPrior", "width": 8, "depth": 1, "time_dim": 8, "steps": 2}


def _loaders() -> tuple[DataLoader, DataLoader]:
    w = torch.randn(96, *SHAPE, generator=torch.Generator().manual_seed(0)) * torch.tensor([2.0, 0.5, 1.0]).view(3, 1, 1)
    return DataLoader(TensorDataset(w[:64]), batch_size=16), DataLoader(TensorDataset(w[64:]), batch_size=32)


def _trainer(tmp_path, callbacks=(), max_steps: int = 3) -> pl.Trainer:
    return pl.Trainer(accelerator="cpu", devices=1, max_steps=max_steps, limit_val_batches=1, num_sanity_val_steps=0,
                      logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      callbacks=list(callbacks), default_root_dir=tmp_path)


class _RecordWeights(pl.Callback):
    """The prior's weights after every optimizer step (before the next one)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.steps.append({name: p.detach().clone() for name, p in module.prior.named_parameters()})


@pytest.mark.parametrize("ema", [0.0, 0.5])
def test_the_ema_follows_every_optimizer_step(tmp_path, ema):
    torch.manual_seed(0)
    module = PriorModule(PRIOR, SHAPE, lr=1e-2, ema=ema, total_steps=3)
    initial = {name: p.detach().clone() for name, p in module.prior.named_parameters()}
    record = _RecordWeights()
    train, val = _loaders()
    _trainer(tmp_path, [record]).fit(module, train, val)
    assert len(record.steps) == 3
    for name in initial:
        expected = initial[name]
        for weights in record.steps:
            expected = ema * expected + (1 - ema) * weights[name]
        torch.testing.assert_close(getattr(module, "ema_" + name.replace(".", "_")), expected)
    exported = dict(module.ema_prior().named_parameters())
    assert not torch.equal(exported[next(iter(initial))], initial[next(iter(initial))])  # it did move


def test_the_validation_loss_uses_fixed_noise(tmp_path):
    torch.manual_seed(0)
    module = PriorModule(PRIOR, SHAPE, lr=1e-2, ema=0.0, val_seed=7, total_steps=2)
    train, val = _loaders()
    trainer = _trainer(tmp_path, max_steps=2)
    trainer.fit(module, train, val)
    first = trainer.validate(module, val, verbose=False)[0]["val/loss"]
    torch.manual_seed(123)  # the global random state does not enter the validation loss
    second = trainer.validate(module, val, verbose=False)[0]["val/loss"]
    assert first == second
    other = PriorModule(PRIOR, SHAPE, lr=1e-2, ema=0.0, val_seed=8, total_steps=2)
    other.load_state_dict(module.state_dict())
    assert trainer.validate(other, val, verbose=False)[0]["val/loss"] != first  # the seed chooses the noise


def test_a_prior_without_parameters_is_refused():
    with pytest.raises(ValueError, match="no parameters"):
        PriorModule({"_target_": "gennet.priors.GaussianEmbedding"}, SHAPE)
