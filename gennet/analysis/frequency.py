"""What a classifier reads in the low and the high frequencies of its input (DESIGN §15).

Wang, Wu, Huang & Xing, "High-frequency component helps explain the generalization of convolutional neural
networks", CVPR 2020 (HFC; reference code ``HaohanWang/HFC``, ``utility/frequencyHelper.py``):

- **radial split** at radius ``r``: ``x = x_l + x_h`` with ``x_l = F⁻¹(M_r · F x)``, ``M_r(k) = 1`` where the
  integer frequency ``k = (k₁, k₂)`` (``k_i ∈ {−N/2, …, N/2 − 1}``, the centred FFT grid) has ``‖k‖ < r``, else 0,
  and ``x_h = x − x_l`` (§3 of the paper; the repository's ``mask_radial`` of the version read here puts 0.5,
  not 0, outside the disc — we follow the paper's binary mask);
- **accuracy on x_l and on x_h** of a trained network, and the **paradox** count: images where ``f(x_h) = y``
  while ``f(x_l) ≠ y`` (the network reads the label in a component that humans cannot see, §3);
- **kernel smoothing** (§5): every 2-D slice of a convolution kernel is convolved with
  ``[[ρ, ρ, ρ], [ρ, 1, ρ], [ρ, ρ, ρ]]`` (symmetric boundary, same size) — the repository's
  ``generateSmoothKernel`` — which damps the kernel's high frequencies; the paper reports that it raises
  adversarial robustness at a small cost in accuracy.

Images are ``(B, C, H, W)`` float; the split acts on each channel independently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["radial_mask", "radial_split", "band_pass", "SplitAccuracy", "split_accuracy", "smooth_kernels",
           "first_convolution", "BANDS"]

BANDS = ("low", "high")


def radial_mask(H: int, W: int, r: float, device: torch.device | str | None = None) -> Tensor:
    """``M_r``: bool ``(H, W)`` on the (unshifted) FFT grid, True where ``√(k₁² + k₂²) < r`` (integer frequencies).

    Raises:
        ValueError: ``r <= 0``.
    """
    if not r > 0:
        raise ValueError(f"the radius r must be > 0, got {r}")
    k1 = torch.fft.fftfreq(H, d=1 / H, device=device)[:, None]
    k2 = torch.fft.fftfreq(W, d=1 / W, device=device)[None, :]
    return k1**2 + k2**2 < r**2


def radial_split(x: Tensor, r: float) -> tuple[Tensor, Tensor]:
    """``(x_l, x_h)``, both shaped and typed as ``x`` ``(…, H, W)``, with ``x_l + x_h = x`` (HFC, §3).

    ``x_l`` keeps the Fourier coefficients of ``‖k‖ < r`` (:func:`radial_mask`; the mask is symmetric under
    ``k → −k`` for ``r ≤ min(H, W)/2``, so ``x_l`` is real), ``x_h`` the others.
    """
    mask = radial_mask(x.shape[-2], x.shape[-1], r, x.device)
    low = torch.fft.ifft2(torch.fft.fft2(x) * mask).real.to(x.dtype)
    return low, x - low


def band_pass(x: Tensor, band: str, r: float) -> Tensor:
    """``x_l`` (``band="low"``) or ``x_h`` (``"high"``) of :func:`radial_split`.

    Raises:
        ValueError: an unknown ``band`` or ``r <= 0``.
    """
    if band not in BANDS:
        raise ValueError(f"band must be low or high, got {band!r}")
    low, high = radial_split(x, r)
    return low if band == "low" else high


@dataclass(frozen=True)
class SplitAccuracy:
    """Accuracies (fractions) at one radius ``r`` on ``n`` images: on ``x_l``, on ``x_h``; ``paradox``: the number of
    images with ``f(x_h) = y`` and ``f(x_l) ≠ y``; ``both``: ``f(x_l) = f(x_h) = y``."""

    r: float
    low: float
    high: float
    paradox: int
    both: int
    n: int


@torch.no_grad()
def split_accuracy(
    f: Callable[[Tensor], Tensor], images: Tensor, labels: Tensor, radii: Sequence[float], batch_size: int = 256
) -> list[SplitAccuracy]:
    """Accuracy of the classifier ``f`` (``(B, C, H, W)`` → logits ``(B, K)``, eval mode) on ``x_l`` and on ``x_h``
    of ``images`` ``(N, C, H, W)`` at every radius in ``radii``, with the paradox count (HFC, §3, Table 1).

    Raises:
        ValueError: a radius ``<= 0``, or ``images`` and ``labels`` of different lengths.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    out = []
    for r in radii:
        right_low, right_high = [], []
        for x, y in zip(images.split(batch_size), labels.split(batch_size)):
            low, high = radial_split(x, r)
            right_low.append(f(low).argmax(1).cpu() == y.cpu())
            right_high.append(f(high).argmax(1).cpu() == y.cpu())
        low_ok, high_ok = torch.cat(right_low), torch.cat(right_high)
        out.append(SplitAccuracy(float(r), low_ok.double().mean().item(), high_ok.double().mean().item(),
                                 int((high_ok & ~low_ok).sum()), int((high_ok & low_ok).sum()), len(images)))
    return out


def smooth_kernels(weight: Tensor, rho: float) -> Tensor:
    """Every 2-D slice ``weight[o, i]`` of a convolution kernel ``(C_out, C_in, kh, kw)`` convolved with
    ``[[ρ, ρ, ρ], [ρ, 1, ρ], [ρ, ρ, ρ]]``, symmetric boundary, same size (HFC, §5; ``scipy.signal.convolve2d(…,
    boundary="symm", mode="same")``). ``ρ = 0`` leaves the kernel unchanged. A ``1×1`` kernel becomes
    ``(1 + 8ρ)`` times itself (its symmetric extension is constant).

    Raises:
        ValueError: ``weight`` not 4-D.
    """
    if weight.ndim != 4:
        raise ValueError(f"expected a (C_out, C_in, kh, kw) kernel, got shape {tuple(weight.shape)}")
    mask = torch.full((3, 3), float(rho), dtype=weight.dtype, device=weight.device)
    mask[1, 1] = 1.0
    slices = weight.reshape(-1, 1, *weight.shape[-2:])
    # the symmetric extension by one sample repeats the edge ('symm' = numpy's 'symmetric' padding)
    padded = F.pad(slices, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(padded, mask[None, None]).reshape(weight.shape)


def first_convolution(network: nn.Module) -> tuple[str, nn.Conv2d] | None:
    """``(name, module)`` of the first ``nn.Conv2d`` registered in ``network`` (its first learned convolution in
    every gennet classifier: ResNet-18's stem, the hybrid's 3×3 convolution on the scattering channels,
    ``sparse_scatnet``'s projection), or ``None``."""
    return next(((name, m) for name, m in network.named_modules() if isinstance(m, nn.Conv2d)), None)
