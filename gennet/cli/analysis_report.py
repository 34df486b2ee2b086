"""The Markdown report of ``analyze.py`` (``analysis.md``) from its ``analysis.json`` content. Its figures:
:mod:`gennet.figures.analysis`."""

from __future__ import annotations

import math

__all__ = ["markdown_report"]


def _number(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return str(value)
    return f"{value:.4g}"


def markdown_report(result: dict) -> str:
    """The Markdown summary of ``analysis.json``."""
    lines = [f"# Analysis of `{result['checkpoint']}`", "",
             f"Network: `{result['network']}`; test accuracy {100 * result['test_accuracy']:.2f}% on {result['test_images']} images.", ""]
    angular = result.get("angular")
    if angular:
        lines += ["## Angular spectrum of W₁", "",
                  f"W₁ = `{angular['layer']}` {angular['shape']} on {angular['channels']} scattering channels. "
                  f"Energy: order 0 {angular['energy']['order0']:.4g}, order 1 {angular['energy']['order1']:.4g}, "
                  f"order 2 {angular['energy']['order2']:.4g}. Fraction of the order-1 energy at ω_θ1 = 0: "
                  f"{angular['omega1_fraction_at_zero']:.3f}; order 2 at (0, 0): {angular['omega2_fraction_at_zero']:.3f}.", "",
                  "| % coefficients kept (asked) | % kept | test accuracy (%) | Δ (points) |", "|---|---|---|---|"]
        for point in angular["thresholding"]:
            lines.append(f"| {100 * point['keep']:.0f} | {100 * point['kept']:.1f} | {100 * point['accuracy']:.2f} | "
                         f"{100 * (point['accuracy'] - point['baseline']):+.2f} |")
        lines += ["", f"**80% of the angular Fourier coefficients removed → Δacc = {100 * angular['delta_at_80_removed']:+.2f} points.**", ""]
    else:
        lines += ["## Angular spectrum of W₁", "", "Not applicable: the network has no scattering front end.", ""]
    lip = result["lipschitz"]
    lines += ["## Lipschitz constant (input → logits)", "", "| layer | operator | input shape | upper bound | how |", "|---|---|---|---|---|"]
    for row in lip["layers"]:
        lines.append(f"| `{row['name']}` | {row['operator']} | {tuple(row['input_shape'])} | {_number(row['bound'])} | {row['detail']} |")
    lines += ["", f"Product of the per-layer bounds (Scaman & Virmaux 2018): **{_number(lip['product'])}**. "
              f"Empirical lower bound (gradient ascent on {lip['pairs']} test pairs, {lip['steps']} steps): "
              f"**{_number(lip['empirical']['final'])}** (start {_number(lip['empirical']['initial'])}).", ""]
    sep = result["separation"]
    ks = list(sep["stages"][0]["lsv"])
    lines += ["## Progressive separation", "",
              f"Features averaged over space; {sep['queries']} test images against {sep['references']} training images.", "",
              "| stage | dimension | 1-NN accuracy (%) | " + " | ".join(f"{k}-LSV" for k in ks) + " |",
              "|---|---|---|" + "---|" * len(ks)]
    for stage in sep["stages"]:
        lines.append(f"| `{stage['stage']}` | {stage['dimension']} | {100 * stage['nn_accuracy']:.2f} | "
                     + " | ".join(str(stage["lsv"][k]) for k in ks) + " |")
    return "\n".join(lines) + "\n"
