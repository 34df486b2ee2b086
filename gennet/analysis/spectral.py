"""The spectral bias of a trained classifier, measured in its input space (DESIGN §15).

Rahaman, Baratin, Arpit, Draxler, Lin, Hamprecht, Bengio & Courville, "On the spectral bias of neural networks",
ICML 2019 (reference notebooks ``nasimrahaman/SpectralBias``): networks fit the low frequencies of the target
function first, and label noise of low frequency harms generalization more than noise of high frequency (§4,
MNIST). Two measures here:

- **the spectrum of the logit margin along lines** — ``m(t) = f_y(x(t)) − max_{k≠y} f_k(x(t))`` on ``n`` equally
  spaced points of a segment ``x(t) = a + t u``, ``‖u‖ = 1``, ``t ∈ [−R, R]`` (random directions through test
  images) or ``x(t) = a + t (b − a)/‖b − a‖``, ``t ∈ [0, ‖b − a‖]`` (the path between two test images);
  ``P(ν) = |DFT(w · (m − m̄))|²`` with a Hann window ``w``, ``ν`` in cycles per unit of ℓ2 distance in image units.
  Summaries: the *spectral median* (the frequency below which half of the energy at ``ν > 0`` lies) and the
  fraction of that energy above a cut-off;
- **the planted-frequency experiment** (the paper's label-noise experiment, §4): regress two digit classes to
  ``±1`` plus ``A sin(2π k s(x))`` for several ``k`` at once (one output per ``k``), ``s(x) = ⟨u, x − c⟩ / w``
  the position of ``x`` along a fixed random direction ``u`` in units of the data's spread ``w`` along it (so
  ``k`` counts periods over the data), and follow, during training, the fraction of the planted sinusoid each
  output has fitted (:func:`fitted_fraction`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["logit_margin", "margin_along_lines", "line_spectrum", "spectral_median", "high_frequency_fraction",
           "random_lines", "image_paths", "PlantedNoise", "planted_noise", "fitted_fraction", "fit_planted_noise"]


def logit_margin(logits: Tensor, labels: Tensor) -> Tensor:
    """``f_y − max_{k≠y} f_k``: ``(B, K)``, ``(B,)`` → ``(B,)`` (positive where ``y`` wins)."""
    true = logits.gather(1, labels[:, None])[:, 0]
    return true - logits.scatter(1, labels[:, None], float("-inf")).max(1).values


def random_lines(images: Tensor, seed: int = 0) -> Tensor:
    """Unit directions ``(N, C, H, W)``, Gaussian then normalized, one per image (the lines' directions)."""
    u = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed)).to(images)
    return u / u.flatten(1).norm(dim=1).reshape(-1, *[1] * (images.ndim - 1))


def image_paths(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """``(directions, lengths)``: unit vectors ``(b − a)/‖b − a‖`` ``(N, C, H, W)`` and ``‖b − a‖`` ``(N,)``.

    Raises:
        ValueError: a pair with ``a_i = b_i``.
    """
    difference = b - a
    lengths = difference.flatten(1).norm(dim=1)
    if not bool((lengths > 0).all()):
        raise ValueError("every path needs two different images")
    return difference / lengths.reshape(-1, *[1] * (a.ndim - 1)), lengths


@torch.no_grad()
def margin_along_lines(
    f: Callable[[Tensor], Tensor], origins: Tensor, directions: Tensor, t: Tensor, labels: Tensor | None = None,
    batch_size: int = 512,
) -> Tensor:
    """``m_i(t_j)`` ``(N, n)``: the logit margin of ``f`` at ``origins_i + t_j directions_i``.

    ``origins``, ``directions``: ``(N, C, H, W)``; ``t``: ``(n,)`` positions along the line (image units, the
    directions being unit vectors) or ``(N, n)`` one row per line; ``labels``: the class ``y`` of each line
    (``None``: the class ``f`` predicts at ``origins``).
    """
    if labels is None:
        labels = torch.cat([f(x).argmax(1) for x in origins.split(batch_size)])
    t = t.expand(len(origins), -1) if t.ndim == 1 else t
    n = t.shape[1]
    points = origins[:, None] + t.reshape(len(origins), n, *[1] * (origins.ndim - 1)) * directions[:, None]
    points = points.reshape(-1, *origins.shape[1:])
    repeated = labels.repeat_interleave(n)
    margins = [logit_margin(f(p), y) for p, y in zip(points.split(batch_size), repeated.split(batch_size))]
    return torch.cat(margins).reshape(len(origins), n)


def line_spectrum(m: Tensor, spacing: Tensor | float) -> tuple[Tensor, Tensor]:
    """``(ν, P)``: the power spectrum of each row of ``m`` ``(N, n)`` sampled every ``spacing`` (a number or ``(N,)``).

    ``P = |rfft(w · (m − m̄))|²`` ``(N, n//2 + 1)`` with the Hann window ``w``; ``ν = j / (n · spacing)``
    (cycles per unit length), ``(N, n//2 + 1)``.
    """
    N, n = m.shape
    window = torch.hann_window(n, periodic=False, dtype=m.dtype, device=m.device)
    power = torch.fft.rfft((m - m.mean(1, keepdim=True)) * window, dim=1).abs() ** 2
    spacing = torch.as_tensor(spacing, dtype=m.dtype, device=m.device).reshape(-1, 1).expand(N, 1)
    nu = torch.arange(n // 2 + 1, dtype=m.dtype, device=m.device)[None] / (n * spacing)
    return nu, power


def spectral_median(nu: Tensor, power: Tensor) -> Tensor:
    """Per row: the smallest ``ν > 0`` below which (inclusive) half of the energy at ``ν > 0`` lies ``(N,)``."""
    energy = power[:, 1:]
    cumulative = energy.cumsum(1) / energy.sum(1, keepdim=True).clamp_min(1e-300)
    index = (cumulative < 0.5).sum(1).clamp_max(energy.shape[1] - 1)
    return nu[:, 1:].gather(1, index[:, None])[:, 0]


def high_frequency_fraction(nu: Tensor, power: Tensor, cutoff: float) -> Tensor:
    """Per row: the fraction of the energy at ``ν > 0`` that lies at ``ν ≥ cutoff`` ``(N,)``."""
    energy, frequencies = power[:, 1:], nu[:, 1:]
    return (energy * (frequencies >= cutoff)).sum(1) / energy.sum(1).clamp_min(1e-300)


@dataclass(frozen=True)
class PlantedNoise:
    """The planted sinusoids: ``direction`` ``u`` ``(C, H, W)`` (unit), ``center`` ``c`` and ``width`` ``w`` of the
    data along ``u`` (``s(x) = ⟨u, x⟩ − c) / w`` spans about ``[−½, ½]``), the frequencies ``ks`` and ``amplitude``."""

    direction: Tensor
    center: float
    width: float
    ks: tuple[float, ...]
    amplitude: float

    def position(self, images: Tensor) -> Tensor:
        """``s(x)`` ``(N,)``."""
        return ((images.flatten(1) @ self.direction.flatten().to(images)) - self.center) / self.width

    def noise(self, images: Tensor) -> Tensor:
        """``A sin(2π k s(x))`` ``(N, len(ks))``."""
        k = torch.tensor(self.ks, dtype=images.dtype, device=images.device)
        return self.amplitude * torch.sin(2 * math.pi * self.position(images)[:, None] * k)


def planted_noise(images: Tensor, ks: Sequence[float], amplitude: float = 0.5, seed: int = 0) -> PlantedNoise:
    """The sinusoids of frequencies ``ks`` along a random direction, centred and scaled on ``images`` ``(N, C, H, W)``
    (``c`` the median of ``⟨u, x⟩``, ``w`` the 1–99% range).

    Raises:
        ValueError: an empty ``ks`` or a ``k <= 0``.
    """
    if not ks or min(ks) <= 0:
        raise ValueError(f"ks must be a non-empty list of frequencies > 0, got {list(ks)}")
    u = random_lines(images[:1], seed)[0]
    s = images.flatten(1) @ u.flatten()
    low, median, high = torch.quantile(s.double(), torch.tensor([0.01, 0.5, 0.99], dtype=torch.float64)).tolist()
    return PlantedNoise(u, median, max(high - low, 1e-12), tuple(float(k) for k in ks), float(amplitude))


def fitted_fraction(outputs: Tensor, clean: Tensor, noise: Tensor) -> Tensor:
    """Per output ``j``: the coefficient ``c_j`` of the planted noise in the least-squares fit
    ``outputs[:, j] ≈ a + b · clean + c_j · noise[:, j]`` ``(n_k,)``: 0 when the output ignores the noise, 1 when
    it reproduces it. ``outputs``, ``noise``: ``(N, n_k)``; ``clean``: ``(N,)`` the noise-free target."""
    out = []
    for j in range(outputs.shape[1]):
        design = torch.stack([torch.ones_like(clean), clean, noise[:, j]], 1).double()
        solution = torch.linalg.lstsq(design, outputs[:, j : j + 1].double()).solution
        out.append(solution[2, 0])
    return torch.stack(out).to(outputs.dtype)


def fit_planted_noise(
    network: nn.Module, images: Tensor, clean: Tensor, noise: PlantedNoise, steps: int, record_every: int = 10,
    batch_size: int = 128, lr: float = 1e-3, seed: int = 0, progress: Callable | None = None,
) -> dict:
    """Train ``network`` (``len(noise.ks)`` outputs) by Adam on the mean squared error to ``clean[:, None] +
    noise.noise(images)`` and record, every ``record_every`` steps (in eval mode, on the training images), the
    :func:`fitted_fraction` of every planted frequency.

    Returns:
        ``{"steps": [...], "fitted": [[c_k per k] per record], "ks": [...]}``; and ``"first_half"``: for each
        ``k`` the first recorded step with ``c_k ≥ ½`` (``None``: never within ``steps``).
    """
    targets = clean[:, None] + noise.noise(images)
    planted = noise.noise(images)
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    history: dict = {"steps": [], "fitted": [], "ks": list(noise.ks)}

    def record(step: int) -> None:
        network.eval()
        with torch.no_grad():
            outputs = torch.cat([network(x) for x in images.split(512)])
        history["steps"].append(step)
        history["fitted"].append(fitted_fraction(outputs, clean, planted).tolist())
        network.train()

    order = torch.empty(0, dtype=torch.long)
    network.train()
    steps_done = range(steps) if progress is None else progress(range(steps))
    for step in steps_done:
        if step % record_every == 0:
            record(step)
        if len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(images), generator=generator)])
        batch, order = order[:batch_size], order[batch_size:]
        loss = F.mse_loss(network(images[batch]), targets[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    record(steps)
    network.eval()
    fitted = torch.tensor(history["fitted"])
    history["first_half"] = [next((s for s, c in zip(history["steps"], fitted[:, j].tolist()) if c >= 0.5), None)
                             for j in range(fitted.shape[1])]
    return history
