"""CaCE by a true intervention pinned to known answers on a real trained digit classifier: 0 where the concept has no
causal path (the classifier never sees the bar) even though the bar is confounded with the class (ConExp and TCAV
report effects); the exact effect where the classifier reads only the bar."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gennet.analysis import causal_concept_effect, conditional_concept_effect, confounded_bars, stamp_bar, tcav_score
from gennet.analysis.cace import BAR
from gennet.data import MNIST5kDataModule
from gennet.metrics import load_digit_classifier


class Masked(nn.Module):
    """The shipped digit classifier behind a mask that blanks the bar's rectangle: no causal path from the bar."""

    def __init__(self) -> None:
        super().__init__()
        self.classifier = load_digit_classifier()

    def forward(self, x):
        return self.classifier(stamp_bar(x, -1.0))  # the bar's pixels back to the background


@pytest.fixture(scope="module")
def digits():
    datamodule = MNIST5kDataModule()
    datamodule.setup()
    images, labels = datamodule.test_dataset.tensors
    return images[:300], labels[:300]


def test_cace_is_zero_where_the_concept_has_no_causal_path_while_correlational_scores_are_not(digits):
    images, labels = digits
    net = Masked().eval()
    has_bar = confounded_bars(labels, target_class=3, rate_target=0.95, rate_others=0.05)
    observed = torch.where(has_bar[:, None, None, None], stamp_bar(images), images)
    assert causal_concept_effect(net, images, 3) == 0.0  # the intervention changes nothing the network sees
    assert conditional_concept_effect(net, observed, has_bar, 3) > 0.5  # the bar travels with the class
    concept, random = stamp_bar(images[:60]), images[60:120]
    score = tcav_score(net, "classifier.body.6", concept, random, observed[labels == 3], 3)
    assert 0.0 <= score <= 1.0  # a number is reported, whatever it is, for a concept the network cannot see


def test_cace_of_a_classifier_that_reads_only_the_bar_is_the_exact_difference(digits):
    images, _ = digits

    def bar_reader(x):
        intensity = x[..., BAR[0], BAR[1]].mean((1, 2, 3))  # −1 without the bar, 1 with it
        return torch.stack([torch.zeros_like(intensity), 2 * intensity], 1)  # class 1's logit

    expected = (torch.sigmoid(torch.tensor(2.0)) - torch.sigmoid(torch.tensor(-2.0))).item()
    assert causal_concept_effect(bar_reader, images, 1) == pytest.approx(expected, abs=1e-6)


def test_confounded_bars_have_the_asked_rates():
    labels = torch.arange(10).repeat(20)
    has = confounded_bars(labels, 3, 0.9, 0.1)
    assert has[labels == 3].sum() == 18 and has[labels != 3].sum() == 18
    with pytest.raises(ValueError, match="rates"):
        confounded_bars(labels, 3, 1.5, 0.1)
