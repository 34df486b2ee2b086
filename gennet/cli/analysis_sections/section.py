"""What every section of ``analyze.py`` is (:class:`Section`), is given (:class:`Context`) and returns (:class:`Result`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from ...analysis import lipschitz_upper_bound, network_stages, random_control, stage_features
from ...errors import ConfigError, check_number

__all__ = ["Context", "Result", "Section", "numbers_of", "subset"]


@dataclass
class Result:
    """``numbers``: the section's entry of ``analysis.json``; ``figures``: ``{file stem: matplotlib Figure}``;
    ``report``: Markdown lines of ``analysis.md``; ``metrics``: headline numbers logged to wandb; ``row``:
    ``{measure: text}``, the network's cells of the comparison table of ``analyze.py runs=DIR``."""

    numbers: dict
    figures: dict = field(default_factory=dict)
    report: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    row: dict[str, str] = field(default_factory=dict)


def numbers_of(key: str, values, minimum: float = 0.0, strict: bool = True) -> list[float]:
    """A non-empty list of numbers above ``minimum`` (``strict``: not equal to it), checked one by one.

    Raises:
        ConfigError: naming ``key[i]`` of the first bad value, or ``key`` when the list is empty.
    """
    values = [check_number(f"{key}[{i}]", v, minimum, strict=strict) for i, v in enumerate(values or [])]
    if not values:
        raise ConfigError(key, "must list at least one value")
    return values


def subset(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    """A seeded random subset of ``limit`` items of ``dataset`` (all of it when ``limit`` is ``None`` or larger)."""
    if limit is None or limit >= len(dataset):
        return dataset
    return Subset(dataset, torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:limit].tolist())


@dataclass
class Context:
    """One classifier and its data, shared by the sections (what several of them need is computed once).

    Attributes:
        name: the network's class name. network: eval mode, on ``device``.
        train, test: datasets of ``(image, label)`` (seeded subsets when ``max_train_images`` / ``max_images`` are set).
        num_classes: of the classifier. batch_size: of every pass. options: ``{section name: checked options}``.
        baseline: the test accuracy of the network (a fraction).
    """

    name: str
    network: nn.Module
    train: Dataset
    test: Dataset
    num_classes: int
    device: torch.device
    batch_size: int
    seed: int
    options: dict
    baseline: float = float("nan")
    _features: dict = field(default_factory=dict, repr=False)

    def batches(self, dataset: Dataset, desc: str):
        """``(images on device, labels on the CPU)`` batches of ``dataset``, with a progress bar."""
        for x, y in tqdm(DataLoader(dataset, batch_size=self.batch_size), desc=desc, leave=False):
            yield x.to(self.device), y

    def images(self, dataset: Dataset, n: int | None = None) -> tuple[Tensor, Tensor]:
        """The first ``n`` images ``(n, C, H, W)`` (on device) and labels of ``dataset`` (all if ``n`` is ``None``)."""
        n = len(dataset) if n is None else min(n, len(dataset))
        x, y = zip(*(dataset[i] for i in range(n)))
        return torch.stack(x).to(self.device), torch.as_tensor(y)

    def test_images(self, n: int | None = None) -> tuple[Tensor, Tensor]:
        """The first ``n`` test images ``(n, C, H, W)`` and their labels ``(n,)``, both on device."""
        x, y = self.images(self.test, n)
        return x, y.to(self.device)

    @torch.no_grad()
    def accuracy(self, network: nn.Module | None = None) -> float:
        network = self.network if network is None else network
        correct = sum(int((network(x).argmax(1).cpu() == y).sum()) for x, y in self.batches(self.test, "accuracy"))
        return correct / len(self.test)

    @functools.cached_property
    def lipschitz(self) -> tuple[list, float | None]:
        """The per-layer Lipschitz upper bounds of the logits and their product (``None``: a layer has no rule),
        at ``lipschitz.power_iterations`` (:func:`~gennet.analysis.lipschitz_upper_bound`); computed once."""
        example = self.images(self.test, 1)[0]
        return lipschitz_upper_bound(network_stages(self.network), example,
                                     n_iter=self.options["lipschitz"]["power_iterations"])

    @functools.cached_property
    def control(self) -> nn.Module:
        """The same architecture with random weights, BatchNorm statistics on the training images
        (:func:`~gennet.analysis.random_control`)."""
        return random_control(self.network, (x for x, _ in self.batches(self.train, "control: statistics")), self.seed)

    def stage_features(self, split: str, control: bool = False) -> tuple[dict[str, Tensor], Tensor]:
        """Every stage's features averaged over space ``{stage: (N, D)}`` and the labels ``(N,)`` of ``split``
        (``"train"`` or ``"test"``), for the trained network or the random control; computed once."""
        if (split, control) not in self._features:
            self._features[split, control] = self._stage_features(split, control)
        return self._features[split, control]

    def _stage_features(self, split: str, control: bool) -> tuple[dict[str, Tensor], Tensor]:
        network = self.control if control else self.network
        labels: list[Tensor] = []

        def images():
            for x, y in self.batches(getattr(self, split), f"features ({'control, ' if control else ''}{split})"):
                labels.append(y)
                yield x

        features = stage_features(network_stages(network), images())
        return features, torch.cat(labels).long()


@dataclass(frozen=True)
class Section:
    """One analysis of ``analyze.py``.

    ``name``: its key in ``analysis.json`` and in ``analysis=[…]``; ``files``: the figure stems it may write (an
    output folder holding one is an earlier result); ``check(cfg) → options``: its config keys, checked before any
    work (one line naming the key); ``applies(network) → None | reason``: why it does not apply to a network;
    ``run(context) → Result``; ``default``: run without being asked when it applies (else only when listed);
    ``requires``: optional libraries it needs (a missing one is one line when the section is asked for);
    ``compare(numbers by network) → {file stem: Figure}``: its figures with several networks together (a section
    with one can run in ``analyze.py runs=DIR``).
    """

    name: str
    files: tuple[str, ...]
    check: Callable[[object], dict]
    applies: Callable[[nn.Module], str | None]
    run: Callable[[Context], Result]
    default: bool = True
    requires: tuple[str, ...] = ()
    compare: Callable[[dict[str, dict]], dict] | None = None
