"""The probe curves of ``analyze.py``'s ``probes`` section (progressive separation and contraction across depth,
against a randomly initialized control; :mod:`gennet.analysis.probes`, :mod:`gennet.analysis.contraction`).
A ``matplotlib.figure.Figure`` built without pyplot."""

from __future__ import annotations

from matplotlib.figure import Figure

__all__ = ["probes_figure"]


def probes_figure(stages: list[dict], title: str = "") -> Figure:
    """Per stage: linear-probe and 1-NN test accuracy, PCA dimension at 90% and the intra/inter distance ratio,
    for the trained network (solid) and its random control (dashed)."""
    names = [stage["stage"] for stage in stages]
    fig = Figure(figsize=(16, 4.8), dpi=120)
    axes = fig.subplots(1, 3)
    for which, style in (("trained", "-"), ("control", "--")):
        rows = [stage[which] for stage in stages]
        axes[0].plot(names, [100 * r["linear_probe"] for r in rows], "o" + style, color="tab:blue", label=f"linear probe, {which}")
        axes[0].plot(names, [100 * r["nn_accuracy"] for r in rows], "s" + style, color="tab:orange", label=f"1-NN, {which}")
        axes[1].plot(names, [r["pca_dimension"] for r in rows], "o" + style, color="tab:green", label=which)
        axes[2].plot(names, [r["distance_ratio"] for r in rows], "o" + style, color="tab:red", label=which)
    axes[0].set(ylabel="test accuracy (%)", title="separation (features averaged over space)")
    axes[1].set(ylabel="principal components for 90% variance", yscale="log", title="contraction: PCA dimension")
    axes[2].set(ylabel="mean intra-class / inter-class distance", title="contraction: class tightness")
    for ax in axes:
        ax.tick_params(axis="x", rotation=45)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
