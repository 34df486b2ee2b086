"""Lipschitz constants of a classifier: per-layer upper bounds, their product, and an empirical lower bound.

Upper bound (Scaman & Virmaux, "Lipschitz regularity of deep neural networks: analysis and efficient
estimation", NeurIPS 2018, AutoLip): ``‖f ∘ g‖_L ≤ ‖f‖_L ‖g‖_L``, ``‖ρ‖_L = 1`` for the ReLU, and a linear
layer's constant is its operator norm. Here every linear operator is measured exactly *as the operator it is
at the network's input size* (padding, stride and the map size included):

- a convolution, with the BatchNorm that follows it folded in (eval mode: the diagonal scaling
  ``γ / √(σ² + ε)``), or an average pooling: subspace (block power) iteration on ``AᵀA``, the adjoint from
  autograd, run to convergence (it approaches ``‖A‖`` from below, to ``1e-8`` relative on ``‖A‖²``); if the
  iteration cap comes first, a convolution gets instead the certified norm of the circular convolution that
  contains it (Sedghi, Gupta & Long, ICLR 2019: an SVD per frequency), so every factor is an upper bound;
- a linear layer (with a following ``BatchNorm1d`` folded in): its largest singular value (SVD);
- a BatchNorm alone, a train-set standardization: ``max |scale|`` (a diagonal operator);
- a residual block ``ρ(B(x) + s(x))``: ``‖B‖_L + ‖s‖_L`` (1 for the identity shortcut);
- max pooling ``k×k`` stride ``s``: ``⌈k/s⌉`` (each input lies in at most ``⌈k/s⌉²`` windows);
- the scattering transform ``S_J``: 1 (non-expansive, Mallat 2012, from the Littlewood–Paley condition;
  DESIGN §9 — with kymatio's filters the condition holds up to 1.05 and the reflection padding is not
  accounted for; the empirical ratio of ``S_J`` alone is far below 1).

A layer without a rule (e.g. the per-position ℓ2 normalization of ``sparse_scatnet``, which is not
Lipschitz near 0, or the homotopy ISTC) has no bound, and then neither has the product.

Lower bound: the largest ``‖f(x) − f(y)‖ / ‖x − y‖`` found by gradient ascent on ``(x, y)`` from test pairs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock

from ..models.scattering_features import ScatteringFeatures
from ..models.standardization import Standardization
from ..transforms.scattering import Scattering2D

__all__ = ["LayerBound", "operator_norm", "circular_bound", "lipschitz_upper_bound", "empirical_lipschitz"]

#: Modules that are 1-Lipschitz and have nothing to measure (dropout: eval mode).
_ONE = (nn.ReLU, nn.Identity, nn.Flatten, nn.Dropout)


@dataclass(frozen=True)
class LayerBound:
    """One factor of the product: ``name`` (module path), ``operator`` (what was measured), ``input_shape``
    (without batch), ``bound`` (``None``: no rule), ``detail`` (how it was obtained)."""

    name: str
    operator: str
    input_shape: tuple[int, ...]
    bound: float | None
    detail: str = ""


def operator_norm(
    linear: Callable[[Tensor], Tensor],
    input_shape: Sequence[int],
    n_iter: int = 500,
    tol: float = 1e-8,
    block: int = 4,
    seed: int = 0,
    return_info: bool = False,
) -> float | tuple[float, int, bool]:
    """``‖A‖₂`` of a linear map given as a function, by subspace iteration on ``AᵀA`` (``Aᵀ`` by autograd).

    ``linear`` maps a batch ``(b, *input_shape)`` (float64) to ``(b, …)``, each sample independently, and must
    be linear (no bias). ``block`` vectors are iterated together and orthonormalized, with a Rayleigh–Ritz
    step on the subspace (Golub & Van Loan, *Matrix computations*, §8.2.4): the error decays as
    ``(σ_{block+1}/σ₁)^{2t}`` instead of ``(σ₂/σ₁)^{2t}``. Stops when the estimate of ``σ₁²`` changes by less
    than ``tol`` (relative) or after ``n_iter`` iterations. The estimate never exceeds ``‖A‖₂``.
    ``return_info``: also return the number of iterations and whether the tolerance was reached.
    """
    n = math.prod(input_shape)
    block = max(1, min(block, n))
    generator = torch.Generator().manual_seed(seed)
    V = torch.linalg.qr(torch.randn(n, block, generator=generator, dtype=torch.float64)).Q.T  # (block, n), orthonormal rows
    previous, converged, iterations = None, False, 0
    for iterations in range(1, n_iter + 1):
        v = V.reshape(block, *input_shape).requires_grad_(True)
        u = linear(v)
        (w,) = torch.autograd.grad(u, v, u.detach())  # AᵀA v, row by row
        W = w.detach().reshape(block, n)
        H = V @ W.T  # Rayleigh quotient of AᵀA on the subspace
        top = torch.linalg.eigvalsh((H + H.T) / 2)[-1].item()
        if previous is not None and abs(top - previous) <= tol * max(abs(top), 1e-300):
            converged = True
            break
        previous = top
        if not torch.isfinite(W).all() or W.abs().max() == 0:
            converged = True
            break
        V = torch.linalg.qr(W.T).Q.T
    sigma = math.sqrt(max(top, 0.0))
    return (sigma, iterations, converged) if return_info else sigma


def _batchnorm_scale(bn: nn.modules.batchnorm._BatchNorm) -> Tensor:
    """The eval-mode BatchNorm as ``scale · x + shift``: ``scale`` float64 ``(C,)``."""
    scale = (bn.running_var.to(torch.float64) + bn.eps).rsqrt()
    return scale * bn.weight.detach().to(torch.float64) if bn.affine else scale


def circular_bound(conv: nn.Conv2d, scale: Tensor | None, input_shape: Sequence[int]) -> float:
    """A certified upper bound of ``‖diag(scale) · conv‖₂`` at ``input_shape`` ``(C, H, W)``: the norm of the circular
    convolution with the same kernel on a grid large enough that nothing wraps around (``H + dilation·(k − 1)``).

    The zero-padded (and strided) convolution is that circular convolution applied to the image embedded in
    zeros, restricted to some outputs (and subsampled): an isometry, then contractions. The circular
    convolution is block-diagonal in Fourier, so its norm is ``max_ω σ_max(K̂(ω))`` over the grid's frequencies,
    ``K̂(ω)`` the ``(C_out, C_in)`` matrix of the kernel's DFT (Sedghi, Gupta & Long, "The singular values of
    convolutional layers", ICLR 2019, Theorem 6). Groups are handled as a block-diagonal ``K̂(ω)``.
    """
    weight = conv.weight.detach().to(torch.float64)
    if conv.groups > 1:  # block-diagonal (C_out, C_in) matrix
        out_per, in_per = weight.shape[0] // conv.groups, weight.shape[1]
        full = weight.new_zeros(weight.shape[0], in_per * conv.groups, *weight.shape[2:])
        for g in range(conv.groups):
            full[g * out_per : (g + 1) * out_per, g * in_per : (g + 1) * in_per] = weight[g * out_per : (g + 1) * out_per]
        weight = full
    if scale is not None:
        weight = weight * scale.to(torch.float64).reshape(-1, 1, 1, 1)
    (kh, kw), (dh, dw) = conv.kernel_size, conv.dilation
    size = (input_shape[-2] + 2 * conv.padding[0] + dh * (kh - 1), input_shape[-1] + 2 * conv.padding[1] + dw * (kw - 1)) \
        if isinstance(conv.padding, tuple) else (input_shape[-2] + 2 * dh * (kh - 1), input_shape[-1] + 2 * dw * (kw - 1))
    taps = weight.new_zeros(*weight.shape[:2], *size)
    taps[..., : dh * (kh - 1) + 1 : dh, : dw * (kw - 1) + 1 : dw] = weight
    spectrum = torch.fft.fft2(taps).permute(2, 3, 0, 1)  # (H', W', C_out, C_in)
    return torch.linalg.matrix_norm(spectrum, ord=2).max().item()


def _conv_bound(conv: nn.Conv2d, bn: nn.BatchNorm2d | None, shape: tuple[int, ...], what: str, **power) -> tuple[float, str]:
    """``‖BN ∘ conv‖`` at ``shape`` by subspace iteration; when the iteration cap is reached first, the certified
    :func:`circular_bound` instead (the iteration's value, a lower estimate, is then given in the detail)."""
    scale = None if bn is None else _batchnorm_scale(bn)
    conv64 = copy.deepcopy(conv).to(torch.float64)
    factor = None if scale is None else scale.to(conv64.weight.device)[None, :, None, None]

    def linear(x: Tensor) -> Tensor:
        y = conv64._conv_forward(x, conv64.weight, None)
        return y if factor is None else y * factor

    with torch.enable_grad():
        info = operator_norm(linear, shape, return_info=True, **power)
    sigma, iterations, converged = info
    # a circular (or reflected) padding is not contained in a larger circular convolution: no certified bound
    if converged or conv.padding_mode != "zeros":
        return sigma, _iterated(what, info)
    bound = circular_bound(conv, scale, shape)
    return bound, (f"circular-embedding bound (Sedghi et al. 2019); {what} reached {sigma:.4g} in {iterations} it. "
                   "without converging")


def _iterated(how: str, info: tuple[float, int, bool]) -> str:
    sigma, iterations, converged = info
    return f"{how}, {iterations} it." + ("" if converged else ", not converged (a lower estimate)")


def _linear_norm(layer: nn.Linear, bn: nn.BatchNorm1d | None) -> float:
    matrix = layer.weight.detach().to(torch.float64)
    if bn is not None:
        matrix = _batchnorm_scale(bn)[:, None] * matrix
    return torch.linalg.matrix_norm(matrix, ord=2).item()


def _describe(module: nn.Module) -> str:
    """A short name of a layer: ``Conv2d(81→64, 3×3, stride 1)``, ``Linear(128→10)``, ``BatchNorm2d(81)``, …"""
    if isinstance(module, nn.Conv2d):
        return f"Conv2d({module.in_channels}→{module.out_channels}, {module.kernel_size[0]}×{module.kernel_size[1]}, stride {module.stride[0]})"
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}→{module.out_features})"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return f"{type(module).__name__}({module.num_features}{'' if module.affine else ', no affine'})"
    return f"{type(module).__name__}({module.extra_repr()})" if module.extra_repr() else type(module).__name__


class _AutoLip:
    """Per-layer bounds of a module tree, given the input shape each module saw (recorded by forward hooks)."""

    def __init__(self, shapes: dict[int, tuple[int, ...]], power: dict) -> None:
        self.shapes, self.power = shapes, power

    def shape(self, module: nn.Module) -> tuple[int, ...]:
        return self.shapes.get(id(module), ())

    def sequence(self, name: str, modules: list[tuple[str, nn.Module]]) -> list[LayerBound]:
        rows, i = [], 0
        while i < len(modules):
            child_name, child = modules[i]
            following = modules[i + 1][1] if i + 1 < len(modules) else None
            path = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Conv2d) and isinstance(following, nn.BatchNorm2d):
                bound, detail = _conv_bound(child, following, self.shape(child), "subspace iteration, BN folded", **self.power)
                rows.append(LayerBound(path, f"{_describe(child)} + BatchNorm2d", self.shape(child), bound, detail))
                i += 2
                continue
            if isinstance(child, nn.Linear) and isinstance(following, nn.BatchNorm1d):
                rows.append(LayerBound(path, f"{_describe(child)} + BatchNorm1d", self.shape(child),
                                       _linear_norm(child, following), "SVD, BN folded"))
                i += 2
                continue
            if isinstance(child, nn.Module):
                rows += self.module(path, child)
            else:
                rows.append(LayerBound(path, getattr(child, "__name__", type(child).__name__), (), None, "not a module"))
            i += 1
        return rows

    def module(self, name: str, module: nn.Module) -> list[LayerBound]:
        shape = self.shape(module)
        if isinstance(module, _ONE):
            return []
        if isinstance(module, nn.Sequential):
            return self.sequence(name, list(module.named_children()))
        if isinstance(module, nn.Conv2d):
            bound, detail = _conv_bound(module, None, shape, "subspace iteration", **self.power)
            return [LayerBound(name, _describe(module), shape, bound, detail)]
        if isinstance(module, nn.Linear):
            return [LayerBound(name, _describe(module), shape, _linear_norm(module, None), "SVD")]
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            return [LayerBound(name, _describe(module), shape, _batchnorm_scale(module).abs().max().item(), "max |γ/√(σ²+ε)|")]
        if isinstance(module, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            with torch.enable_grad():
                info = operator_norm(module, shape, return_info=True, **self.power)
            return [LayerBound(name, _describe(module), shape, info[0], _iterated("subspace iteration", info))]
        if isinstance(module, nn.MaxPool2d):
            k, s = (module.kernel_size if isinstance(module.kernel_size, int) else max(module.kernel_size),
                    module.stride if isinstance(module.stride, int) else min(module.stride))
            return [LayerBound(name, _describe(module), shape, float(math.ceil(k / s)), "⌈k/s⌉ windows per axis")]
        if isinstance(module, Scattering2D):
            return [LayerBound(name, f"Scattering2D(J={module.J}, L={module.L}, order {module.max_order})", shape, 1.0,
                               "non-expansive (Littlewood–Paley), not measured")]
        if isinstance(module, Standardization):
            if module.whiten:
                bound = torch.linalg.matrix_norm(module.whitening, ord=2).item()
            else:
                bound = module.std.reciprocal().max().item()
            return [LayerBound(name, _describe(module), shape, bound, "max 1/std" if not module.whiten else "SVD")]
        if isinstance(module, ScatteringFeatures):
            return self.module(f"{name}.scattering", module.scattering) + self.module(f"{name}.standardization", module.standardization)
        if isinstance(module, BasicBlock):
            main = self.sequence(name, [("conv1", module.conv1), ("bn1", module.bn1), ("conv2", module.conv2), ("bn2", module.bn2)])
            shortcut = self.module(f"{name}.downsample", module.downsample) if module.downsample is not None else []
            terms = [_product(main), _product(shortcut) if shortcut else 1.0]
            bound = None if None in terms else terms[0] + terms[1]
            detail = " · ".join(f"{row.bound:.4g}" for row in main) + " + " + (f"{terms[1]:.4g}" if shortcut else "1 (identity)")
            if any("circular" in row.detail for row in main + shortcut):
                detail += "; some convolutions by their circular-embedding bound"
            return [LayerBound(name, "BasicBlock ρ(B(x) + s(x))", shape, bound, f"‖B‖ + ‖s‖ = {detail}")]
        if any(True for _ in module.children()) and type(module).forward is nn.Module.forward:
            return self.sequence(name, list(module.named_children()))
        return [LayerBound(name, _describe(module), shape, None, "no rule for this layer")]


def _product(rows: list[LayerBound]) -> float | None:
    product = 1.0
    for row in rows:
        if row.bound is None:
            return None
        product *= row.bound
    return product


def lipschitz_upper_bound(
    stages: Sequence[tuple[str, Callable[[Tensor], Tensor]]], example: Tensor, n_iter: int = 500, tol: float = 1e-8
) -> tuple[list[LayerBound], float | None]:
    """Per-layer bounds of a network given as its ``stages`` (applied in turn), and their product.

    ``example``: one input ``(1, C, H, W)``, run once to record the size each layer sees. Modules must be in
    eval mode (BatchNorm as its running statistics). A stage that is not an ``nn.Module`` gets no bound; a
    convolution (linear layer) stage followed by a BatchNorm stage is measured with it folded in.

    Returns:
        ``(rows, product)``: one :class:`LayerBound` per factor (1-Lipschitz layers omitted), and ``Π bound``
        (``None`` if a factor has none). ``‖f(x) − f(y)‖ ≤ product · ‖x − y‖`` for all ``x, y``.
    """
    shapes: dict[int, tuple[int, ...]] = {}

    def record(module, inputs, _output):
        if inputs and isinstance(inputs[0], Tensor):
            shapes.setdefault(id(module), tuple(inputs[0].shape[1:]))

    modules = [stage for _, stage in stages if isinstance(stage, nn.Module)]
    handles = [m.register_forward_hook(record) for stage in modules for m in stage.modules()]
    try:
        with torch.no_grad():
            x = example
            for _, stage in stages:
                x = stage(x)
    finally:
        for handle in handles:
            handle.remove()
    rows = _AutoLip(shapes, dict(n_iter=n_iter, tol=tol)).sequence("", list(stages))
    return rows, _product(rows)


def empirical_lipschitz(
    f: Callable[[Tensor], Tensor], x: Tensor, y: Tensor, steps: int = 100, lr: float = 0.01
) -> dict[str, float]:
    """Largest ``‖f(x_i) − f(y_i)‖ / ‖x_i − y_i‖`` over pairs, before and after gradient ascent on the pairs.

    ``x``, ``y``: ``(P, C, H, W)``, ``P`` starting pairs (e.g. two test images, or an image and a perturbed copy).
    Each pair keeps its distance ``r_i = ‖x_i − y_i‖``: ``y_i = x_i + r_i u_i / ‖u_i‖``, and Adam (step ``lr``;
    ``x`` and ``u`` are scaled so that their entries are of order 1) maximizes ``Σ_i log ratio_i`` over
    ``(x, u)`` for ``steps`` steps; the best ratio seen is returned with the starting one. ``f`` must treat
    samples independently (eval mode). A lower bound of the Lipschitz constant of ``f`` on the whole input space.

    Returns:
        ``{"initial": …, "final": …}`` (``final ≥ initial``).

    Raises:
        ValueError: ``x`` and ``y`` of different shapes, or a pair with ``x_i = y_i``.
    """
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    difference = (y - x).detach()
    radius = difference.flatten(1).norm(dim=1)
    if not bool((radius > 0).all()):
        raise ValueError("every pair needs x_i != y_i")
    shape = (-1,) + (1,) * (x.ndim - 1)
    scale = math.sqrt(x[0].numel())
    u = (difference / radius.reshape(shape) * scale).requires_grad_(True)
    x = x.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x, u], lr=lr)
    best = initial = None
    for step in range(steps + 1):
        with torch.enable_grad():
            direction = u / u.flatten(1).norm(dim=1).reshape(shape)
            ratio = (f(x + radius.reshape(shape) * direction) - f(x)).flatten(1).norm(dim=1) / radius
        value = ratio.max().item()
        initial = value if initial is None else initial
        best = value if best is None else max(best, value)
        if step == steps:
            break
        optimizer.zero_grad()
        (-ratio.clamp_min(1e-30).log().sum()).backward()
        optimizer.step()
    return {"initial": initial, "final": best}
