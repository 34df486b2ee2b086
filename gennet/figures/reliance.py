"""The figures of what a classifier relies on (DESIGN §15; ``analyze.py analysis=[…]`` and ``runs=DIR``): each takes
``{network name: the section's numbers}`` so that one figure serves one network and the comparison of several.
Built without pyplot (see :mod:`gennet.figures.analysis`)."""

from __future__ import annotations

from matplotlib.figure import Figure

__all__ = ["frequency_figure", "smoothing_figure", "margins_figure", "robustness_figure", "spectral_figure",
           "planted_noise_figure", "cace_figure"]


def _figure(columns: int = 1, width: float = 7.0):
    fig = Figure(figsize=(width * columns, 5), dpi=120)
    return fig, fig.subplots(1, columns, squeeze=False)[0]


def frequency_figure(results: dict) -> Figure:
    """Accuracy on ``x_l`` (solid) and ``x_h`` (dashed) against the radius ``r``, one colour per network."""
    fig, (ax,) = _figure()
    for i, (name, numbers) in enumerate(results.items()):
        r = [s["r"] for s in numbers["splits"]]
        ax.plot(r, [100 * s["low"] for s in numbers["splits"]], "o-", color=f"C{i}", label=f"{name}: x_l")
        ax.plot(r, [100 * s["high"] for s in numbers["splits"]], "s--", color=f"C{i}", label=f"{name}: x_h")
    ax.axhline(10, color="grey", lw=0.8, ls=":", label="chance (10 classes)")
    ax.set(xlabel="radius r of the Fourier split", ylabel="test accuracy (%)", ylim=(0, 100),
           title="Accuracy on the low (x_l) and high (x_h) frequency parts")
    ax.legend(fontsize=8)
    return fig


def smoothing_figure(results: dict) -> Figure:
    """Accuracy and FGSM accuracy against the HFC smoothing ρ of the first convolution."""
    fig, (ax,) = _figure()
    for i, (name, numbers) in enumerate(results.items()):
        rho = [s["rho"] for s in numbers["smoothing"]]
        ax.plot(rho, [100 * s["accuracy"] for s in numbers["smoothing"]], "o-", color=f"C{i}", label=f"{name}: clean")
        ax.plot(rho, [100 * s["fgsm_accuracy"] for s in numbers["smoothing"]], "s--", color=f"C{i}",
                label=f"{name}: FGSM ε={numbers['smoothing_epsilon']:g}")
    ax.set(xlabel="ρ (first convolution ⊛ [[ρ,ρ,ρ],[ρ,1,ρ],[ρ,ρ,ρ]])", ylabel="test accuracy (%)", ylim=(0, 100),
           title="Smoothing the first convolution's kernels (HFC §5)")
    ax.legend(fontsize=8)
    return fig


def margins_figure(results: dict) -> Figure:
    """Median DeepFool margin per subspace (log scale), one bar group per network; the certified radius dotted."""
    fig, (ax,) = _figure(width=9)
    names = [r["subspace"] for r in next(iter(results.values()))["subspaces"]]
    width = 0.8 / len(results)
    for i, (name, numbers) in enumerate(results.items()):
        medians = [min(r["median"], 1e6) for r in numbers["subspaces"]]
        ax.bar([j + i * width for j in range(len(names))], medians, width, color=f"C{i}", label=name)
        if numbers.get("certified_median"):
            ax.axhline(numbers["certified_median"], color=f"C{i}", ls=":", lw=1, label=f"{name}: certified radius")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(names))], names, rotation=20, fontsize=8)
    ax.set(yscale="log", ylabel="median ℓ2 margin (image units)", title="Margins along subspaces (subspace DeepFool)")
    ax.legend(fontsize=8)
    return fig


def robustness_figure(results: dict) -> Figure:
    """Accuracy against ε, ℓ∞ (left) and ℓ2 (right); PGD solid, FGSM dashed."""
    fig, axes = _figure(2)
    for i, (name, numbers) in enumerate(results.items()):
        for ax, norm in zip(axes, ("Linf", "L2")):
            for attack, style in (("pgd", "o-"), ("fgsm", "s--")):
                points = [r for r in numbers["attacks"] if r["norm"] == norm and r["attack"] == attack]
                if points:
                    ax.plot([r["epsilon"] for r in points], [100 * r["accuracy"] for r in points], style, color=f"C{i}",
                            label=f"{name}: {attack.upper()}")
    for ax, norm in zip(axes, ("ℓ∞", "ℓ2")):
        ax.set(xlabel=f"ε ({norm}, image units in [−1, 1])", ylabel="accuracy under attack (%)", ylim=(0, 100),
               title=f"captum attacks, {norm}")
        ax.legend(fontsize=8)
    return fig


def spectral_figure(results: dict) -> Figure:
    """Mean normalized power spectrum of the logit margin along random lines (log scale)."""
    fig, (ax,) = _figure()
    for i, (name, numbers) in enumerate(results.items()):
        kind = numbers["kinds"]["random lines"]
        ax.plot(kind["frequencies"][1:], kind["mean_power"][1:], color=f"C{i}", label=f"{name} (median ν {kind['spectral_median']:.2g})")
    ax.set(xscale="log", yscale="log", xlabel="ν (cycles per unit ℓ2 distance)", ylabel="fraction of the energy at ν > 0",
           title="Spectrum of the logit margin along random lines")
    ax.legend(fontsize=8)
    return fig


def planted_noise_figure(results: dict) -> Figure:
    """Fraction of each planted frequency fitted against the training step, one panel per network."""
    fig, axes = _figure(len(results), width=5)
    for ax, (name, history) in zip(axes, results.items()):
        for j, k in enumerate(history["ks"]):
            ax.plot(history["steps"], [c[j] for c in history["fitted"]], label=f"k = {k:g}")
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set(xlabel="training step", ylabel="fraction of the planted sinusoid fitted", title=name, ylim=(-0.1, 1.1))
        ax.legend(fontsize=8)
    return fig


def cace_figure(rows: list[dict]) -> Figure:
    """GT-CaCE, ConExp and TCAV per network and confounding rate."""
    fig, (ax,) = _figure(width=9)
    labels = [f"{r['network']}\n{100 * r['rate_target']:.0f}/{100 * r['rate_others']:.0f}" for r in rows]
    for j, (key, text) in enumerate((("gt_cace", "GT-CaCE (intervention)"), ("conexp", "ConExp"), ("tcav", "TCAV"))):
        ax.bar([i + 0.27 * j for i in range(len(rows))], [r[key] if r[key] is not None else 0 for r in rows], 0.27, label=text)
    ax.set_xticks([i + 0.27 for i in range(len(rows))], labels, fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(ylabel="score", title="Causal effect of the bar on the class probability")
    ax.legend(fontsize=8)
    return fig
