"""Figures of the molecule regressions (matplotlib, imported when drawing): the learning curve and predicted
versus true energies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..files import save_figure_atomic

__all__ = ["plot_learning_curve", "plot_predictions"]


def _figure(size=(7.5, 5.5)):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=size, dpi=120)


def plot_learning_curve(records: Sequence[dict], path: str | Path, quoted: Sequence[dict] = ()) -> Path:
    """Test MAE (kcal/mol) against training size, log-log, one line per descriptor/model; ``quoted`` published
    points (``label, num_train, mae``) as crosses. Writes a PNG at ``path`` and returns it."""
    plt, fig, ax = _figure()
    keys = sorted({(r["descriptor"], r["model"]) for r in records})
    for descriptor, model in keys:
        rows = sorted((r["num_train"], r["mae"]) for r in records if (r["descriptor"], r["model"]) == (descriptor, model))
        ax.plot(*zip(*rows), marker="o", label=f"{descriptor} / {model} (ours)")
    for q in quoted:
        ax.scatter([q["num_train"]], [q["mae"]], marker="x", s=60, label=f"{q['label']} (quoted)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training molecules")
    ax.set_ylabel("test MAE (kcal/mol)")
    ax.set_title("QM9 atomization energy U0: learning curve")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)
    return Path(path)


def plot_predictions(y_true: np.ndarray, predictions: Mapping[str, np.ndarray], path: str | Path) -> Path:
    """Predicted against true atomization energies (kcal/mol), one panel per model, with MAE in the title."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = list(predictions)
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 4.6), dpi=120, squeeze=False)
    lo, hi = float(np.min(y_true)), float(np.max(y_true))
    for ax, name in zip(axes[0], names):
        pred = predictions[name]
        ax.scatter(y_true, pred, s=4, alpha=0.5)
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        ax.set_title(f"{name}: MAE {np.abs(pred - y_true).mean():.2f} kcal/mol", fontsize=9)
        ax.set_xlabel("true (kcal/mol)")
        ax.set_ylabel("predicted (kcal/mol)")
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)
    return Path(path)
