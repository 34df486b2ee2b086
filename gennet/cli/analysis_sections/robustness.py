"""``analysis=[robustness]``: accuracy under captum's FGSM and PGD at several ε in ℓ∞ and ℓ2 (image units, [−1, 1];
:mod:`gennet.analysis.robustness`), beside the network's Lipschitz bound."""

from __future__ import annotations

from ...analysis import attack_accuracy
from ...figures.reliance import robustness_figure
from .context import Context, Section

__all__ = ["robustness_section"]


def robustness_section(context: Context) -> Section:
    options = context.options["robustness"]
    images, labels = context.subset(options["images"])
    results = [r.__dict__ for r in attack_accuracy(context.network, images, labels, {"Linf": options["Linf"], "L2": options["L2"]},
                                                   steps=options["steps"], batch_size=context.batch_size)]
    lipschitz = context.lipschitz
    numbers = {"images": len(images), "attacks": results, "pgd_steps": options["steps"], "lipschitz_bound": lipschitz}
    row = {f"{r['attack'].upper()} {'ℓ∞' if r['norm'] == 'Linf' else 'ℓ2'} ε={r['epsilon']:g} (%)": f"{100 * r['accuracy']:.1f}"
           for r in results if r["attack"] == "pgd"}
    row["Lipschitz bound"] = "none" if lipschitz is None else f"{lipschitz:.3g}"
    report = ["## Robustness (captum FGSM / PGD)", "",
              f"Accuracy of {len(images)} test images under attack (images clipped to [−1, 1]; PGD {options['steps']} "
              "steps of 2.5 ε / steps, captum's sign steps in both norms).", "",
              "| attack | norm | ε | accuracy (%) |", "|---|---|---|---|"]
    report += [f"| {r['attack']} | {r['norm']} | {r['epsilon']:g} | {100 * r['accuracy']:.1f} |" for r in results]
    report += ["", "Lipschitz bound of the logits: " + ("none (a layer has no rule)" if lipschitz is None else f"{lipschitz:.4g}"), ""]
    return Section(numbers, row, {"robustness": robustness_figure({context.name: numbers})}, report)
