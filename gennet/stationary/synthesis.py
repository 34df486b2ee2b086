"""Microcanonical sampling: images x̃ with Φ(x̃) ≈ Φ(x), by L-BFGS from noise (DESIGN §10).

The microcanonical model of a stationary process is the uniform distribution on the set
{x̃ : ‖Φ(x̃) − Φ(x)‖ ≤ ε}; as the anchors do (Bruna & Mallat, "Multiscale sparse microcanonical models",
2019; Zhang & Mallat 2021; Brochard, Zhang & Mallat 2022; plenoptic's metamers), it is sampled by
minimizing the normalized moment-matching loss

    ℓ(x̃) = (1/M) Σ_m ( (Φ_m(x̃) − Φ_m(x)) / s_m )²

from a random initialization (a sample of the Gaussian random-phase model by default, or white noise with
the target's means and standard deviations), with ``torch.optim.LBFGS`` (strong-Wolfe line search).

With ``match_histogram=True`` the result is projected onto the target's pixel histogram (each pixel replaced by
the target's value of the same rank: the histogram matching of D. Heeger & J. Bergen, "Pyramid-based texture
analysis/synthesis", SIGGRAPH 1995, also applied by Portilla & Simoncelli, IJCV 2000, §4): the histogram
becomes an imposed statistic, and the histogram distance is then no longer an independent check. (A
histogram term in the loss — the W2² of the sorted pixels, Risser et al. 2017 — was measured and dropped: its
gradient through the sort is not smooth, the strong-Wolfe line search fails after ~130 iterations, and the
scattering error of the samples got worse on brick and on the disks.) With ``histogram_levels=n > 0`` the loss also
matches the rectified pixel means E[(x̃ − t)_+] at ``2n`` thresholds t (:func:`pixel_levels`: ``n`` evenly spaced
in the target's range and ``n`` of its quantiles), in units of ``HISTOGRAM_SCALE`` target standard deviations,
weighted by ``histogram_weight`` against the mean of Φ's terms: a histogram constraint with the gradient of a
rectifier, which the line search takes; the histogram W1 of the samples is then still measured, not imposed.
``s`` is the target's own
scale (:meth:`~gennet.stationary.PhaseHarmonicCovariance2D.scale`). The ``num_samples`` samples are
optimized together: the loss is the sum of their (independent) losses, so the gradient of each sample only
depends on that sample; the line search is shared. On the CPU the objective is evaluated one sample per pass
(``samples_per_pass``: the same loss and gradient, a ``num_samples``-fold smaller peak memory and allocations).
Everything runs on the target's device.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from .gaussian import gaussian_samples

__all__ = ["SynthesisResult", "synthesize", "INITS", "DEFAULTS", "HISTOGRAM_SCALE", "pixel_levels", "pixel_moments"]

#: Initializations of :func:`synthesize`.
INITS = ("noise", "gaussian")

#: The defaults of :func:`synthesize`'s optimizer settings (the benchmarks and ``synthesize.py`` use them).
DEFAULTS = dict(n_iter=300, check_every=25, plateau=0.05, patience=25, match_histogram=False, histogram_levels=0,
                histogram_weight=0.03)

#: The unit of the residuals of the pixel-histogram term (``histogram_levels``), in the target's standard deviations.
HISTOGRAM_SCALE = 0.1


@dataclass
class SynthesisResult:
    """What :func:`synthesize` returns.

    Attributes:
        samples: ``(num_samples, C, H, W)`` in the target's dtype and value range, on its device.
        loss: the loss ℓ (mean over samples) at each evaluation of the objective, in order (a Python list).
        iterations: L-BFGS iterations done.
        evaluations: objective (loss + gradient) evaluations done (``len(loss)``).
        seconds: wall-clock time of the optimization (synchronized on GPUs).
        converged: whether it stopped on the plateau criterion before ``n_iter``.
        initial: ``(num_samples, C, H, W)`` the initialization.
        interrupted: whether ``should_stop`` ended the optimization early; ``samples`` are then the evaluated
            point of lowest loss so far.
        unprojected: with ``match_histogram``, the samples before the projection onto the target's histogram (on
            which the histogram distance is still a measured, not an imposed, number); else ``None``.
    """

    samples: torch.Tensor
    loss: list[float] = field(default_factory=list)
    iterations: int = 0
    evaluations: int = 0
    seconds: float = 0.0
    converged: bool = False
    initial: torch.Tensor | None = None
    interrupted: bool = False
    unprojected: torch.Tensor | None = None


class _StopRequested(Exception):
    """Raised inside the objective when ``should_stop()`` turns true: ends L-BFGS between two evaluations."""


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthesize(
    target: torch.Tensor,
    statistics: nn.Module,
    num_samples: int = 1,
    n_iter: int = DEFAULTS["n_iter"],
    init: str = "gaussian",
    seed: int = 0,
    history_size: int = 50,
    check_every: int = DEFAULTS["check_every"],
    plateau: float = DEFAULTS["plateau"],
    patience: int | None = DEFAULTS["patience"],
    weights: torch.Tensor | None = None,
    match_histogram: bool = DEFAULTS["match_histogram"],
    histogram_levels: int = DEFAULTS["histogram_levels"],
    histogram_weight: float = DEFAULTS["histogram_weight"],
    progress: bool = True,
    should_stop: Callable[[], bool] | None = None,
    samples_per_pass: int | None = None,
) -> SynthesisResult:
    """Draw ``num_samples`` images whose statistics match the target's (microcanonical sampling by L-BFGS).

    Args:
        target: ``(1, C, H, W)`` or ``(C, H, W)`` real image (any value range; float32 recommended); or ``(N, C, H,
            W)``: N images (crops) of one process, whose statistics are averaged (the goal is the mean of their Φ,
            the units the mean of their ``scale``; pixels are standardized, the histogram term and the projection
            use the pooled pixels, the Gaussian initialization their mean cross-spectrum), so that a sparse
            field's statistics are not those of a few objects.
        statistics: a module mapping ``(B, C, H, W)`` to ``(B, M)`` statistics with a ``scale(target) -> (M,)``
            method, e.g. :class:`~gennet.stationary.PhaseHarmonicCovariance2D`, on the target's device.
        num_samples: independent samples, optimized in one batch.
        n_iter: maximum number of L-BFGS iterations.
        init: ``"gaussian"`` (a sample of the Gaussian random-phase model, :func:`gaussian_samples`: it has the
            target's spectrum already, and the loss falls ~2× lower in the same number of iterations) or ``"noise"``
            (white Gaussian noise with the target's channel means and standard deviations).
        seed: seeds the initialization; the result is deterministic for a seed on a given device.
        history_size: L-BFGS memory.
        check_every: iterations between two plateau checks.
        plateau: stop when the loss decreased by less than this fraction over the last ``patience``
            iterations (a plateau), or when L-BFGS itself stops (no progress).
        patience: the window of the plateau rule, in iterations (a multiple of ``check_every`` is best; default
            ``check_every``): a long window lets slow, steady descents run on.
        weights: optional ``(M,)`` non-negative weights of the statistics in ℓ (default: all 1).
        match_histogram: project the result onto the target's pixel histogram (per channel). Off by default here
            (the samples then satisfy Φ(x̃) ≈ Φ(x): on a 64² brick crop the projection raises the moment loss
            from ~6e-4 to ~1e-2), on in ``synthesize.py`` and ``bench_fields.py``: on a binary field of disks it
            removes the grey, smeared edges the moments leave (the structure-function error of the power-law
            disks at 256² falls from 0.17 to 0.065); on the 256² brick it moves the other metrics by < 10%.
        histogram_levels: ``n``: add to the loss the rectified pixel means E[(x̃ − t)_+] at ``2n`` thresholds
            (:func:`pixel_levels`, :func:`pixel_moments`), residuals in units of ``HISTOGRAM_SCALE`` of the target's
            std; 0 (default here): none.
        histogram_weight: the weight of that term's mean squared residual beside the mean of Φ's.
        progress: show a tqdm progress bar (iterations, loss).
        should_stop: polled before each evaluation of the objective but the first (e.g. a flag set by a SIGTERM
            handler); when it returns True the optimization ends there and the result holds the evaluated point of lowest loss
            so far, with ``interrupted=True``.
        samples_per_pass: the objective and its gradient are computed for this many samples at a time (the loss is a
            sum of independent per-sample losses: the gradient is the same, up to round-off). Default (``None``): 1 on
            the CPU — the peak memory and the size of each allocation fall by ``num_samples`` (measured, joint model,
            256², batch of 4, 1 thread: 1.58 → 0.99 GB, system time 0.29 → 0.05 s per evaluation and sample, the
            same user time) — and all at once elsewhere (a GPU wants the batch).

    Returns:
        A :class:`SynthesisResult`.

    Raises:
        ValueError: for a bad ``init``, ``num_samples < 1``, ``n_iter < 1``, ``patience < 1``, negative
            ``histogram_levels`` or ``histogram_weight``, ``samples_per_pass < 1``, or a target that is not ``(C, H, W)`` / ``(N, C, H, W)``.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if num_samples < 1 or n_iter < 1:
        raise ValueError(f"num_samples and n_iter must be ≥ 1, got {num_samples} and {n_iter}")
    patience = check_every if patience is None else int(patience)
    if patience < 1:
        raise ValueError(f"patience must be ≥ 1, got {patience}")
    if histogram_levels < 0 or histogram_weight < 0:
        raise ValueError(f"histogram_levels and histogram_weight must be ≥ 0, got {histogram_levels} and {histogram_weight}")
    if samples_per_pass is not None and samples_per_pass < 1:
        raise ValueError(f"samples_per_pass must be ≥ 1, got {samples_per_pass}")
    if target.dim() == 3:
        target = target[None]
    if target.dim() != 4 or target.shape[0] < 1:
        raise ValueError(f"target must be one image (C, H, W) or images (N, C, H, W), got {tuple(target.shape)}")
    device = target.device
    # Work in standardized units (per channel, over every image) for conditioning; map back at the end.
    mean = target.mean(dim=(0, -2, -1), keepdim=True)[:1]
    std = target.transpose(0, 1).flatten(1).std(dim=1).clamp_min(1e-12)[None, :, None, None]
    standard = (target - mean) / std
    with torch.no_grad():
        raw = statistics(standard)
        goal = raw.mean(dim=0)
        scale = torch.stack([statistics.scale(standard[i : i + 1], raw=raw[i]) for i in range(len(standard))]).mean(dim=0)
    weight = torch.ones_like(goal) if weights is None else weights.to(goal)
    pooled = standard.transpose(0, 1).flatten(1)[None]  # (1, C, N·d): every image's pixels
    d = standard.shape[-2] * standard.shape[-1]
    quantiles = pooled.sort(dim=-1).values[..., (torch.arange(d, device=device) * len(standard) + len(standard) // 2)]  # (1, C, d)
    levels = pixel_levels(pooled[..., None], int(histogram_levels)) if histogram_levels > 0 else None
    if levels is not None:
        pixel_goal = pixel_moments(standard, levels).mean(dim=0)
    generator = torch.Generator().manual_seed(int(seed))
    if init == "noise":
        start = torch.randn(num_samples, *standard.shape[1:], generator=generator, dtype=standard.dtype).to(device)
    else:
        start = gaussian_samples(standard, num_samples, generator=generator)
    x = start.clone().requires_grad_(True)
    per_pass = samples_per_pass or (1 if device.type == "cpu" else num_samples)
    optimizer = torch.optim.LBFGS(
        [x], lr=1.0, max_iter=check_every, history_size=history_size, line_search_fn="strong_wolfe",
        tolerance_grad=1e-12, tolerance_change=1e-14,
    )
    result = SynthesisResult(samples=start, initial=start * std + mean)
    bar = tqdm(total=n_iter, desc="L-BFGS", unit="it", disable=not progress, leave=False)

    best = {"loss": math.inf, "x": x.detach().clone()}  # the evaluated point of lowest loss (for an interruption)

    def closure() -> torch.Tensor:
        if should_stop is not None and result.loss and should_stop():  # after the first evaluation: a trace to keep
            raise _StopRequested
        optimizer.zero_grad(set_to_none=True)
        loss = x.new_zeros(())
        for part in x.split(per_pass):  # views of x: each pass's backward fills its rows of x.grad
            residual = (statistics(part) - goal) / scale
            part_loss = (weight * residual.square()).mean(dim=1).sum()
            if levels is not None:
                pixel_residual = (pixel_moments(part, levels) - pixel_goal) / HISTOGRAM_SCALE
                part_loss = part_loss + histogram_weight * pixel_residual.square().mean(dim=1).sum()
            part_loss.backward()
            loss = loss + part_loss.detach()
        result.loss.append(float(loss) / num_samples)
        if should_stop is not None and result.loss[-1] < best["loss"]:
            best["loss"], best["x"] = result.loss[-1], x.detach().clone()
        return loss

    _synchronize(device)
    start_time = time.perf_counter()
    done = 0
    history: list[tuple[int, float]] = []  # (iterations, loss) at each check
    while done < n_iter:
        group = optimizer.param_groups[0]
        group["max_iter"] = min(check_every, n_iter - done)
        group["max_eval"] = group["max_iter"] * 4
        evaluations = len(result.loss)
        try:
            optimizer.step(closure)
        except _StopRequested:
            result.interrupted = True
            done = int(optimizer.state[x].get("n_iter", done))
            break
        iterations = int(optimizer.state[x].get("n_iter", 0))
        bar.update(iterations - done)
        bar.set_postfix(loss=f"{result.loss[-1]:.3g}")
        # L-BFGS stopped by itself (no progress), not on its iteration or evaluation budget
        stalled = iterations - done < group["max_iter"] and len(result.loss) - evaluations < group["max_eval"]
        done = iterations
        if not math.isfinite(result.loss[-1]):
            break
        history.append((done, result.loss[-1]))
        # the loss patience iterations ago (or at the start), against the loss now
        before = next((loss for it, loss in reversed(history[:-1]) if done - it >= patience), None)
        if before is None and done >= patience:
            before = result.loss[0]
        if stalled or (before is not None and result.loss[-1] > (1 - plateau) * before):
            result.converged = True
            break
    _synchronize(device)
    bar.close()
    result.seconds = time.perf_counter() - start_time
    result.iterations = done
    result.evaluations = len(result.loss)
    samples = best["x"] if result.interrupted else x.detach()
    if match_histogram:
        result.unprojected = (samples * std + mean).to(target.dtype)
        samples = _match_histogram(samples, quantiles)
    result.samples = (samples * std + mean).to(target.dtype)
    return result


def _match_histogram(x: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Each pixel of ``x (N, C, H, W)`` replaced by the value of the same rank in ``quantiles (1, C, H·W)`` (sorted)."""
    flat = x.flatten(2)
    ranks = flat.argsort(dim=-1)
    out = torch.empty_like(flat)
    out.scatter_(-1, ranks, quantiles.to(flat).expand_as(flat).contiguous())
    return out.reshape(x.shape)


def pixel_levels(target: torch.Tensor, n: int) -> torch.Tensor:
    """The thresholds of the pixel-histogram term: per channel of ``target (1, C, H, W)``, ``n`` levels evenly spaced
    in its range and its ``n`` quantiles of orders (i + ½)/n, merged and sorted: ``(C, 2n)``."""
    quantiles = target.flatten(2).sort(dim=-1).values[0]  # (C, d)
    low, high = quantiles[:, :1], quantiles[:, -1:]
    u = (torch.arange(n, dtype=quantiles.dtype, device=quantiles.device) + 0.5) / n
    index = (u * quantiles.shape[-1]).long().clamp_max(quantiles.shape[-1] - 1)
    return torch.cat([low + (high - low) * u, quantiles[:, index]], dim=1).sort(dim=1).values


def pixel_moments(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The rectified pixel means E[(x − t)_+] of images ``x (B, C, H, W)`` at the thresholds ``levels (C, K)``: ``(B, C·K)``.

    ``t ↦ E[(x − t)_+] = ∫_t^∞ (1 − F(s)) ds`` (F the pixels' distribution function) determines the histogram; at
    finitely many levels it constrains it where the levels lie, with the gradient of a rectifier (as the rest of Φ)."""
    return (x.flatten(2)[:, :, None, :] - levels[None, :, :, None]).clamp_min(0).mean(-1).flatten(1)
