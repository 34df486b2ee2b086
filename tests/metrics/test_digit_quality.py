"""The shipped digit classifier and the sample-quality measures in its feature space, on the real bundled digits."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from gennet.data import MNIST5kDataModule
from gennet.metrics import digit_classifier_metadata, digit_sample_quality, load_digit_classifier
from gennet.metrics.digit_classifier import WEIGHTS_PATH


@pytest.fixture(scope="module")
def digits() -> MNIST5kDataModule:
    datamodule = MNIST5kDataModule(seed=0)
    datamodule.setup()
    return datamodule


def test_shipped_classifier_reaches_its_recorded_accuracy_on_the_test_digits(digits):
    assert WEIGHTS_PATH.stat().st_size < 400_000  # small enough to ship
    torch.load(WEIGHTS_PATH, weights_only=True)  # plain tensors only
    classifier = load_digit_classifier()
    images, labels = digits.test_dataset.tensors
    with torch.no_grad():
        accuracy = float((classifier(images).argmax(1) == labels).double().mean())
    meta = digit_classifier_metadata()
    assert accuracy >= 0.97 and abs(accuracy - meta["test_accuracy"]) <= 1 / 500  # at most one digit of rounding
    # it saw the training split of seed 0 only: the one whose indices it records
    train = digits.split_indices["train"]
    assert meta["data"]["split_seed"] == 0 and meta["data"]["train_images"] == len(train) == 4000
    assert meta["data"]["train_indices_sha256"] == hashlib.sha256(train.numpy().tobytes()).hexdigest()


def test_frechet_distance_and_precision_recall_separate_real_from_degraded_digits(digits):
    val, test = digits.val_dataset.tensors[0], digits.test_dataset.tensors[0]
    real = digit_sample_quality(test.split(128), val.split(128))
    blurred = torch.nn.functional.avg_pool2d(val, 3, stride=1, padding=1, count_include_pad=False)
    noised = (val + 0.3 * torch.randn(val.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    for degraded in (blurred, noised):
        worse = digit_sample_quality(test.split(128), degraded.split(128))
        assert worse["frechet_distance"] > 10 * real["frechet_distance"]
        assert worse["precision"] < real["precision"] / 2
    assert real["precision"] > 0.7 and real["recall"] > 0.7 and real["num_real"] == real["num_fake"] == 500
    with pytest.raises(ValueError, match="expected digits"):
        digit_sample_quality([torch.zeros(8, 1, 28, 28)], [torch.zeros(8, 1, 28, 28)])


def test_the_training_script_writes_loadable_weights_and_its_record(tmp_path):
    from gennet.cli.train_digit_classifier import main

    meta = main(["--epochs", "1", "--output", str(tmp_path)])
    assert json.loads((tmp_path / "digit_classifier.json").read_text()) == meta
    classifier = load_digit_classifier(path=tmp_path / "digit_classifier.pt")
    assert isinstance(classifier, torch.nn.Module) and meta["test_accuracy"] > 0.8 and meta["recipe"]["epochs"] == 1
    with pytest.raises(ValueError, match="not a gennet digit classifier"):
        torch.save({"weights": 1}, tmp_path / "other.pt")
        load_digit_classifier(path=tmp_path / "other.pt")
