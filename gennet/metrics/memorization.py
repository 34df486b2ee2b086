"""The copy check of a generative model: are its samples nearer the training set than held-out data are?

A sample is counted as a copy when its distance to the nearest training item is below the 5th percentile of the
same distance for held-out (test) items — a held-out item is a genuinely new draw from the data distribution, so a
model that makes new items has about 5% of its samples under that line, and a model that replays its training set
far more (issue 15; the nearest-neighbour memorization test of Meehan, Chaudhuri & Dasgupta, AISTATS 2020, in its
simplest form).
"""

from __future__ import annotations

import torch

__all__ = ["nearest_training_distances"]


@torch.no_grad()
def nearest_training_distances(samples: torch.Tensor, train: torch.Tensor, test: torch.Tensor, quantile: float = 0.05) -> dict:
    """Nearest-training Euclidean distances of ``samples`` against those of ``test``, and the fraction of copies.

    Args:
        samples: ``(N, F)`` generated items (flattened pixels or features). train: ``(M, F)``. test: ``(T, F)``, held out.
        quantile: the held-out quantile below which a sample counts as a copy, in ``(0, 1)``.

    Returns:
        ``{"copies": fraction of samples with distance < the quantile of the test items' distances,
        "median_sample": median sample distance, "median_test": median test distance}`` (floats; computed in float64).

    Raises:
        ValueError: inputs that are not 2-D with the same number of columns, or ``quantile`` outside ``(0, 1)``.
    """
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if samples.dim() != 2 or train.dim() != 2 or test.dim() != 2 or not samples.shape[1] == train.shape[1] == test.shape[1]:
        raise ValueError(f"expected (N, F), (M, F), (T, F), got {tuple(samples.shape)}, {tuple(train.shape)}, {tuple(test.shape)}")
    train = train.double()
    d_samples = torch.cdist(samples.to(train), train).min(1).values
    d_test = torch.cdist(test.to(train), train).min(1).values
    line = torch.quantile(d_test, quantile)
    return {"copies": float((d_samples < line).double().mean()), "median_sample": float(d_samples.median()),
            "median_test": float(d_test.median())}
