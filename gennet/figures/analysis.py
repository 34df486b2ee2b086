"""The figures of ``analyze.py`` (DESIGN §11: angular spectrum of W₁, thresholding, Lipschitz bounds, progressive
separation); also used by ``notebooks/04_analysis.ipynb``. Their Markdown reports: :mod:`gennet.cli.analysis_sections`.

Figures are ``matplotlib.figure.Figure`` objects built without pyplot: no global state, any backend (save them
with ``fig.savefig``; a notebook shows them with ``display(fig)``).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..analysis.angular import AngularSpectrum
from ..analysis.lipschitz import LayerBound

__all__ = ["angular_figure", "thresholding_figure", "lipschitz_figure", "separation_figure"]


def _centered(L: int) -> list[int]:
    """DFT indices reordered as the frequencies ``−⌈L/2⌉+1 … ⌊L/2⌋``."""
    return [w % L for w in range(-((L - 1) // 2), L // 2 + 1)]


def angular_figure(spectrum: AngularSpectrum, title: str = ""):
    """Ω₁ (fraction of the order-1 energy per angular frequency, all scales and per ``j₁``) and Ω₂ (log scale)."""
    L = spectrum.omega1.shape[0]
    order = _centered(L)
    frequencies = [w if w <= L // 2 else w - L for w in order]
    has_order2 = bool(spectrum.omega2.sum() > 0)
    fig = Figure(figsize=(17 if has_order2 else 12, 5), dpi=120)
    axes = fig.subplots(1, 3 if has_order2 else 2)
    total = spectrum.omega1.sum().clamp_min(1e-300)
    axes[0].bar(frequencies, (spectrum.omega1[order] / total).tolist(), color="tab:blue")
    axes[0].set(xlabel="angular frequency ω_θ1", ylabel="fraction of order-1 energy", title="Ω₁(ω_θ1) = Σ_{k, j1} |ŵ|²")
    axes[0].set_xticks(frequencies)
    for j1, row in enumerate(spectrum.omega1_per_scale):
        axes[1].plot(frequencies, (row[order] / row.sum().clamp_min(1e-300)).tolist(), marker="o", label=f"j1 = {j1}")
    axes[1].set(xlabel="angular frequency ω_θ1", ylabel="fraction of the energy at this j1", title="Ω₁ per scale j1")
    axes[1].set_xticks(frequencies)
    axes[1].legend()
    if has_order2:
        omega2 = spectrum.omega2[order][:, order]
        image = axes[2].imshow(torch.log10(omega2 / omega2.sum() + 1e-12).numpy(), origin="lower", cmap="viridis",
                               extent=(frequencies[0] - 0.5, frequencies[-1] + 0.5, frequencies[0] - 0.5, frequencies[-1] + 0.5))
        axes[2].set(xlabel="ω_θ2", ylabel="ω_θ1", title="log10 Ω₂(ω_θ1, ω_θ2) / Σ Ω₂")
        fig.colorbar(image, ax=axes[2])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def thresholding_figure(curve: list[dict], title: str = ""):
    """Test accuracy against the percentage of angular Fourier coefficients of W₁ kept."""
    fig = Figure(figsize=(8, 5), dpi=120)
    ax = fig.subplots()
    kept = [100 * point["kept"] for point in curve]
    ax.plot(kept, [100 * point["accuracy"] for point in curve], marker="o")
    ax.axhline(100 * curve[0]["baseline"], color="gray", linestyle="--", label="unchanged W₁")
    twenty = min(curve, key=lambda point: abs(point["keep"] - 0.2))
    ax.annotate(f"80% removed: {100 * (twenty['accuracy'] - twenty['baseline']):+.2f} points",
                (100 * twenty["kept"], 100 * twenty["accuracy"]), textcoords="axes fraction", xytext=(0.08, 0.2),
                arrowprops=dict(arrowstyle="->"), fontsize=11)
    ax.set(xscale="log", xlabel="% of W₁'s angular Fourier coefficients kept (largest first)", ylabel="test accuracy (%)",
           title=title or "Thresholding W₁ in angular Fourier")
    ticks = sorted({round(100 * point["keep"]) for point in curve})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.invert_xaxis()
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def lipschitz_figure(rows: list[LayerBound], product: float | None, empirical: dict[str, float], title: str = ""):
    """Per-layer upper bounds (log scale), their product and the empirical lower bound."""
    fig = Figure(figsize=(max(8, 0.45 * len(rows) + 3), 5.5), dpi=120)
    ax = fig.subplots()
    values = [row.bound if row.bound is not None else float("nan") for row in rows]
    ax.bar(range(len(rows)), values, color=["tab:blue" if row.bound is not None else "tab:red" for row in rows])
    ax.set_xticks(range(len(rows)), [row.name for row in rows], rotation=60, ha="right", fontsize=8)
    if product is not None:
        ax.axhline(product, color="tab:orange", label=f"product (upper bound) = {product:.3g}")
    ax.axhline(empirical["final"], color="tab:green", linestyle="--", label=f"empirical lower bound = {empirical['final']:.3g}")
    ax.axhline(1, color="gray", linewidth=0.8)
    ax.set(yscale="log", ylabel="Lipschitz constant (upper bound per layer)", title=title or "Lipschitz bounds")
    ax.legend()
    fig.tight_layout()
    return fig


def separation_figure(stages: list[dict], title: str = ""):
    """1-NN test accuracy and the number of k-LSV at each stage (features averaged over space)."""
    names = [stage["stage"] for stage in stages]
    fig = Figure(figsize=(13, 5), dpi=120)
    axes = fig.subplots(1, 2)
    axes[0].plot(names, [100 * stage["nn_accuracy"] for stage in stages], marker="o")
    axes[0].set(ylabel="1-NN test accuracy (%)", title="nearest neighbour at each stage")
    for k in stages[0]["lsv"]:
        axes[1].plot(names, [stage["lsv"][k] for stage in stages], marker="o", label=f"{k}-LSV")
    axes[1].set(ylabel="number of test images", title="k-Local Support Vectors")
    axes[1].legend()
    for ax in axes:
        ax.tick_params(axis="x", rotation=45)
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
