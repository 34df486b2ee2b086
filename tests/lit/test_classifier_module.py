"""ClassifierModule in process, with a tiny Lightning Trainer on real digits (no subprocess).

What the module adds to its network: the train-set standardization fitted at the start of a fresh fit (on
``standardization_samples`` images drawn with ``seed``), and not on a resumed one; logged accuracies that are
fractions; checkpoints that load with ``weights_only=True`` and give the same logits.
"""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from gennet.data import MNIST5kDataModule
from gennet.lit import ClassifierModule

NETWORK = {"_target_": "gennet.models.ScatteringClassifier", "J": 2, "L": 4, "max_order": 1, "head": "linear"}


def _trainer(tmp_path, **kwargs) -> pl.Trainer:
    settings = dict(accelerator="cpu", devices=1, max_epochs=1, limit_train_batches=2, limit_val_batches=1,
                    logger=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    return pl.Trainer(**{**settings, **kwargs})


def _module(**kwargs) -> ClassifierModule:
    return ClassifierModule(image_size=32, channels=1, network=NETWORK, optimizer="adam", lr=1e-2, lr_schedule="constant",
                            standardization_samples=48, seed=3, **kwargs)


@pytest.fixture(scope="module")
def digits():
    data = MNIST5kDataModule(batch_size=16, seed=0)
    data.setup("fit")
    return data


def test_a_fresh_fit_standardizes_with_the_drawn_training_images(tmp_path, digits):
    torch.manual_seed(0)
    module = _module()
    _trainer(tmp_path, limit_train_batches=0, limit_val_batches=0).fit(module, datamodule=digits)
    features = module.network.features
    indices = torch.randperm(len(digits.train_dataset), generator=torch.Generator().manual_seed(3))[:48].tolist()
    images = torch.stack([digits.train_dataset[i][0] for i in indices])
    with torch.no_grad():
        s = features.scatter(images).double()  # (48, K, h, w): statistics over images and positions, per channel
    per_channel = s.transpose(0, 1).reshape(s.shape[1], -1)
    assert int(features.standardization.count) == per_channel.shape[1]
    torch.testing.assert_close(features.standardization.mean, per_channel.mean(1), rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(features.standardization.std, per_channel.std(1, correction=0).clamp_min(1e-6),
                               rtol=1e-5, atol=1e-9)


def test_training_logs_fractions_and_a_checkpoint_reloads_the_same_logits(tmp_path, digits):
    torch.manual_seed(0)
    module = _module()
    trainer = _trainer(tmp_path)
    trainer.fit(module, datamodule=digits)
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["train/loss"])
    for key in ("val/acc", "val/acc_top5"):
        assert 0.0 <= float(metrics[key]) <= 1.0
    assert float(metrics["val/acc_top5"]) >= float(metrics["val/acc"])  # top-5 contains top-1
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    assert torch.load(path, weights_only=True)["hyper_parameters"]["network"] == NETWORK
    reloaded = ClassifierModule.load_from_checkpoint(path, weights_only=True).eval()
    x = torch.stack([digits.val_dataset[i][0] for i in range(8)])
    with torch.no_grad():
        torch.testing.assert_close(reloaded(x), module.eval()(x))


def test_a_resumed_fit_keeps_the_standardization_of_its_checkpoint(tmp_path, digits):
    torch.manual_seed(0)
    first = _trainer(tmp_path / "a")
    first.fit(_module(), datamodule=digits)
    path = tmp_path / "first.ckpt"
    first.save_checkpoint(path)
    saved = torch.load(path, weights_only=True)["state_dict"]["network.features.standardization.mean"]
    # a fresh fit with these settings would draw other images (another seed, fewer of them)
    resumed = ClassifierModule(image_size=32, channels=1, network=NETWORK, optimizer="adam", lr=1e-2,
                               lr_schedule="constant", standardization_samples=16, seed=4)
    _trainer(tmp_path / "b", max_epochs=2, limit_val_batches=0).fit(resumed, datamodule=digits, ckpt_path=path)
    torch.testing.assert_close(resumed.network.features.standardization.mean, saved)
