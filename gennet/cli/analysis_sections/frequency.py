"""``frequency`` (``analysis=[frequency]``; off by default): accuracy on the low- and high-frequency parts of the test
images, the paradox count, and the HFC smoothing of the first convolution (Wang et al., CVPR 2020;
:mod:`gennet.analysis.frequency`)."""

from __future__ import annotations

import torch

from ...analysis import attack_accuracy, first_convolution, replaced_weight, smooth_kernels, split_accuracy
from ...errors import check_int, check_number
from ...figures.reliance import frequency_figure, smoothing_figure
from .section import Context, Result, Section, numbers_of

__all__ = ["FREQUENCY"]


def _check(cfg) -> dict:
    options = cfg.frequency
    return dict(images=check_int("frequency.images", options.images, 2),
                radii=numbers_of("frequency.radii", options.radii),
                smoothing=numbers_of("frequency.smoothing", options.smoothing, strict=False),
                epsilon=check_number("frequency.smoothing_epsilon", options.smoothing_epsilon, 0.0))


@torch.no_grad()
def _accuracy(network, images, labels, batch_size: int) -> float:
    predictions = torch.cat([network(x).argmax(1) for x in images.split(batch_size)])
    return float((predictions == labels).double().mean())


def _run(context: Context) -> Result:
    options = context.options["frequency"]
    images, labels = context.test_images(options["images"])
    accuracy = _accuracy(context.network, images, labels, context.batch_size)
    splits = [s.__dict__ for s in split_accuracy(context.network, images, labels, options["radii"], context.batch_size)]
    smoothing = []
    found = first_convolution(context.network)
    epsilon = options["epsilon"]
    if found is not None:
        name, conv = found
        original = conv.weight.detach().clone()
        for rho in options["smoothing"]:
            with replaced_weight(conv, smooth_kernels(original, rho)):
                clean = _accuracy(context.network, images, labels, context.batch_size)
                (attacked,) = attack_accuracy(context.network, images, labels, {"Linf": [epsilon]}, attacks=["fgsm"],
                                              batch_size=context.batch_size)
            smoothing.append({"rho": rho, "accuracy": clean, "fgsm_accuracy": attacked.accuracy})
    numbers = {"accuracy": accuracy, "images": len(images), "splits": splits, "first_convolution": found and found[0],
               "smoothing_epsilon": epsilon, "smoothing": smoothing}
    row = {f"acc. x_l / x_h (%) (paradox count) r={s['r']:g}": f"{100 * s['low']:.1f} / {100 * s['high']:.1f} ({s['paradox']})"
           for s in splits}
    if smoothing:
        row[f"FGSM ε={epsilon:g}: ρ=0 → ρ={smoothing[-1]['rho']:g} (%)"] = \
            f"{100 * smoothing[0]['fgsm_accuracy']:.1f} → {100 * smoothing[-1]['fgsm_accuracy']:.1f}"
    report = ["## Frequency components (Wang et al. 2020)", "",
              f"Accuracy on {len(images)} test images split at radius r (x = x_l + x_h; ‖k‖ < r kept in x_l).", "",
              "| r | acc. x_l (%) | acc. x_h (%) | paradox: f(x_h) = y ≠ f(x_l) | both right |", "|---|---|---|---|---|"]
    report += [f"| {s['r']:g} | {100 * s['low']:.1f} | {100 * s['high']:.1f} | {s['paradox']} | {s['both']} |" for s in splits]
    if smoothing:
        report += ["", f"HFC smoothing of `{found[0]}` (kernel ⊛ [[ρ,ρ,ρ],[ρ,1,ρ],[ρ,ρ,ρ]]): accuracy and accuracy under "
                       f"FGSM ℓ∞ ε = {epsilon:g}.", "", "| ρ | accuracy (%) | FGSM accuracy (%) |", "|---|---|---|"]
        report += [f"| {s['rho']:g} | {100 * s['accuracy']:.1f} | {100 * s['fgsm_accuracy']:.1f} |" for s in smoothing]
    return Result(numbers, _compare({context.name: numbers}), report + [""], row=row)


def _compare(numbers: dict[str, dict]) -> dict:
    """The split accuracies of every network in one figure, and their smoothing curves (networks with a convolution)."""
    smoothed = {name: n for name, n in numbers.items() if n["smoothing"]}
    return {"frequency": frequency_figure(numbers), **({"smoothing": smoothing_figure(smoothed)} if smoothed else {})}


FREQUENCY = Section("frequency", ("frequency", "smoothing"), _check, lambda network: None, _run, default=False,
                    requires=("captum",), compare=_compare)
