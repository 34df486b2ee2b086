"""GeneratorModule in process, with a tiny Lightning Trainer on real digits (no subprocess), for both decoders.

What the module adds to its decoder: the decoder built from its plain-type description (and from the flat keys of
earlier configs and checkpoints), the dictionary's chores (atoms from data at the start of a fresh fit, unused atoms
replaced, atoms renormalized after every step), the CNN's whitening fitted on the training set; checkpoints that
load with ``weights_only=True`` and give the same reconstructions.
"""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from gennet.data import MNIST5kDataModule
from gennet.lit import GeneratorModule
from gennet.models import CNNGenerator, SparseInverseGenerator
from gennet.sparse import ADMM, ISTC

ENCODER = {"J": 2, "L": 4, "A": 4}
SPARSE = dict(num_atoms=16, n_layers=8, lambda_star=0.2)


def _trainer(tmp_path, **kwargs) -> pl.Trainer:
    settings = dict(accelerator="cpu", devices=1, max_steps=2, limit_train_batches=2, limit_val_batches=1, logger=False,
                    enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                    num_sanity_val_steps=0, default_root_dir=tmp_path)
    return pl.Trainer(**{**settings, **kwargs})


def _module(**kwargs) -> GeneratorModule:
    settings = dict(image_size=32, channels=1, encoder=ENCODER, lr=3e-3, seed=3, **SPARSE)
    return GeneratorModule(**{**settings, **kwargs})


@pytest.fixture(scope="module")
def digits():
    data = MNIST5kDataModule(batch_size=8, seed=0)
    data.setup("fit")
    return data


def _x(digits, n: int = 8) -> torch.Tensor:
    return torch.stack([digits.val_dataset[i][0] for i in range(n)])


def test_a_fresh_fit_draws_the_atoms_from_training_images(tmp_path, digits):
    module = _module()
    _trainer(tmp_path, limit_train_batches=0, limit_val_batches=0).fit(module, datamodule=digits)
    # the same draw by hand: 256 training images with the seed, then their patches with the same generator
    fresh = _module().generator
    generator = torch.Generator().manual_seed(3)
    indices = torch.randperm(len(digits.train_dataset), generator=generator)[:256].tolist()
    fresh.init_atoms_from_data_(torch.stack([digits.train_dataset[i][0] for i in indices]), generator)
    for ours, expected in zip(module.generator.dictionary.parameters(), fresh.dictionary.parameters()):
        torch.testing.assert_close(ours, expected, rtol=0, atol=0)
    random = _module(atom_init="random")
    before = [p.detach().clone() for p in random.generator.dictionary.parameters()]
    _trainer(tmp_path, limit_train_batches=0, limit_val_batches=0).fit(random, datamodule=digits)
    assert all(torch.equal(a, b) for a, b in zip(before, random.generator.dictionary.parameters()))


@pytest.mark.parametrize("solver", [None, {"_target_": "gennet.sparse.ISTC"}])
def test_two_steps_of_the_sparse_decoder_and_a_checkpoint_that_reloads(tmp_path, digits, solver):
    torch.manual_seed(0)
    module = _module(solver=solver)
    assert isinstance(module.generator, SparseInverseGenerator)
    assert isinstance(module.generator.lasso, ISTC if solver else ADMM) and module.generator.lasso.n_layers == 8
    trainer = _trainer(tmp_path)
    trainer.fit(module, datamodule=digits)
    assert trainer.global_step == 2
    metrics = trainer.callback_metrics
    for key in ("train/loss", "val/psnr", "val/nonzeros_per_pixel", "val/duality_gap", "train/lambda"):
        assert torch.isfinite(metrics[key]), key
    assert 0 < float(metrics["val/nonzeros_per_pixel"]) < 1
    torch.testing.assert_close(module.generator.dictionary.atom_norms(), torch.ones(16), rtol=0, atol=1e-5)
    assert float(module.train_atom_usage.sum()) > 0  # counted at every step for the replacement
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    hp = torch.load(path, weights_only=True)["hyper_parameters"]
    target = "gennet.sparse.ISTC" if solver else "gennet.sparse.ADMM"
    assert hp["decoder"]["_target_"] == "gennet.models.SparseInverseGenerator" and hp["decoder"]["num_atoms"] == 16
    assert hp["decoder"]["solver"] == {"_target_": target, "lambda_star": 0.2, "n_layers": 8, "positive": True,
                                       "learn_lambda": False}
    assert "architecture" not in hp and "num_atoms" not in hp  # the description, not the flat keys
    reloaded = GeneratorModule.load_from_checkpoint(path, weights_only=True).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(_x(digits)), module.eval()(_x(digits)))


def test_two_steps_of_the_cnn_decoder_fit_its_whitening(tmp_path):
    digits = MNIST5kDataModule(batch_size=500, seed=0)  # the whitening streams every training image: large batches
    digits.setup("fit")
    torch.manual_seed(0)
    module = _module(decoder={"_target_": "gennet.models.CNNGenerator"}, cnn_width=16)
    assert isinstance(module.generator, CNNGenerator) and not hasattr(module, "train_atom_usage")
    assert module.configure_callbacks() == []  # no dictionary, no chores
    trainer = _trainer(tmp_path, limit_train_batches=2)
    trainer.fit(module, datamodule=digits)
    assert int(module.generator.whitening.count) > 0  # fitted on the training set at the start of the fit
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["val/psnr"]) and "train/sparsity" not in metrics
    path = tmp_path / "cnn.ckpt"
    trainer.save_checkpoint(path)
    reloaded = GeneratorModule.load_from_checkpoint(path, weights_only=True).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(_x(digits)), module.eval()(_x(digits)))


def test_unused_atoms_are_replaced_in_the_first_half_of_training(tmp_path, digits):
    torch.manual_seed(0)
    module = _module(num_atoms=64, lambda_star=0.5)  # many atoms, few used: some stay unused in an epoch
    trainer = _trainer(tmp_path, max_steps=-1, max_epochs=4, limit_train_batches=1, limit_val_batches=0)
    seen = {}

    class Spy(pl.Callback):  # the atoms and usage at the start of epoch 1, and after its first batch began
        def on_train_epoch_start(self, trainer, pl_module):
            if trainer.current_epoch == 1:
                seen["usage"] = pl_module.train_atom_usage.clone()
                seen["before"] = [p.detach().clone() for p in pl_module.generator.dictionary.band_atoms]

        def on_before_optimizer_step(self, trainer, pl_module, optimizer):
            if trainer.current_epoch == 1:
                seen["after"] = [p.detach().clone() for p in pl_module.generator.dictionary.band_atoms]

    trainer.callbacks.append(Spy())
    trainer.fit(module, datamodule=digits)
    unused = seen["usage"] == 0
    assert unused.any() and (~unused).any()
    for before, after in zip(seen["before"], seen["after"]):  # (K, …) per scale: only the unused atoms re-drawn
        changed = (before != after).flatten(1).any(1)
        assert torch.equal(changed, unused)
    assert float(trainer.callback_metrics["train/replaced_atoms"]) == float(unused.sum())


def test_earlier_flat_configs_and_checkpoints_build_the_same_decoder():
    """The flat keys of earlier configs (``architecture``, ``solver`` names) give the description of the new form."""
    old = _module(architecture="sparse", solver="istc", checkpoint_layers=True)
    new = _module(decoder={"_target_": "gennet.models.SparseInverseGenerator"},
                  solver={"_target_": "gennet.sparse.ISTC", "checkpoint_layers": True})
    assert old.hparams["decoder"] == new.hparams["decoder"]
    assert old.generator.lasso.checkpoint_layers and isinstance(old.generator.lasso, ISTC)
    again = GeneratorModule(**old.hparams)  # the saved description rebuilds it
    again.load_state_dict(old.state_dict())
    assert set(old.state_dict()) >= {"generator.lasso.log_lambda", "train_atom_usage"}  # the keys of earlier checkpoints
    cnn = _module(architecture="cnn", cnn_width=16)
    assert cnn.hparams["decoder"] == {"_target_": "gennet.models.CNNGenerator", **ENCODER, "width": 16, "whiten": True}
    with pytest.raises(ValueError, match="architecture"):
        _module(architecture="vae")
    with pytest.raises(ValueError, match="Lasso solver"):
        _module(solver="lars")
    with pytest.raises(ValueError, match="checkpoint_layers"):
        _module(checkpoint_layers=True)  # ADMM is not unrolled
    with pytest.raises(ValueError, match="decoder"):
        _module(decoder={"_target_": "gennet.models.ResNet18"})
    with pytest.raises(ValueError, match="architecture is replaced"):
        _module(decoder={"_target_": "gennet.models.CNNGenerator"}, architecture="cnn")
