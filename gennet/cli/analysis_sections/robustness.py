"""``robustness`` (``analysis=[robustness]``; off by default): accuracy under captum's FGSM and PGD at several ε in ℓ∞
and ℓ2 (image units, [−1, 1]; :mod:`gennet.analysis.robustness`), beside the network's Lipschitz bound."""

from __future__ import annotations

from ...analysis import attack_accuracy
from ...errors import check_int
from ...figures.reliance import robustness_figure
from .section import Context, Result, Section, numbers_of

__all__ = ["ROBUSTNESS"]


def _check(cfg) -> dict:
    options = cfg.robustness
    return dict(images=check_int("robustness.images", options.images, 1), Linf=numbers_of("robustness.linf", options.linf),
                L2=numbers_of("robustness.l2", options.l2), steps=check_int("robustness.steps", options.steps, 1))


def _run(context: Context) -> Result:
    options = context.options["robustness"]
    images, labels = context.test_images(options["images"])
    results = [r.__dict__ for r in attack_accuracy(context.network, images, labels, {"Linf": options["Linf"], "L2": options["L2"]},
                                                   steps=options["steps"], batch_size=context.batch_size)]
    lipschitz = context.lipschitz[1]
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
    return Result(numbers, _compare({context.name: numbers}), report, row=row)


def _compare(numbers: dict[str, dict]) -> dict:
    return {"robustness": robustness_figure(numbers)}


ROBUSTNESS = Section("robustness", ("robustness",), _check, lambda network: None, _run, default=False,
                     requires=("captum",), compare=_compare)
