"""``probes``: layer-by-layer linear probe and 1-NN accuracy (progressive separation, Jacobsen et al. ICLR 2018
§4.2), and contraction (PCA dimension at 90% of the variance, intra/inter-class distance ratio), at every stage
of any classifier, beside the same architecture with random weights (:mod:`gennet.analysis.probes`,
:mod:`gennet.analysis.contraction`). Features are averaged over space."""

from __future__ import annotations

from ...analysis import distance_ratio, linear_probe_accuracy, nearest_neighbour_accuracy, pca_dimension
from ...errors import check_bool, check_number
from ...figures.probes import probes_figure
from .section import Context, Result, Section

__all__ = ["PROBES", "TOLERANCE"]

TOLERANCE = 0.01  #: a decrease of at most one point still counts as non-decreasing


def _check(cfg) -> dict:
    probes = cfg.probes
    return dict(weight_decay=check_number("probes.weight_decay", probes.weight_decay, 0.0),
                pca_fraction=check_number("probes.pca_fraction", probes.pca_fraction, 0.0, 1.0, strict=True),
                control=check_bool("probes.control", probes.control))


def _measures(context: Context, control: bool) -> dict[str, dict]:
    options = context.options["probes"]
    train, train_labels = context.stage_features("train", control)
    test, test_labels = context.stage_features("test", control)
    out = {}
    for name in test:
        probe = linear_probe_accuracy(train[name], train_labels, test[name], test_labels, context.num_classes,
                                      options["weight_decay"])
        out[name] = {"linear_probe": probe["test"], "linear_probe_train": probe["train"],
                     "nn_accuracy": nearest_neighbour_accuracy(test[name], test_labels, train[name], train_labels),
                     "pca_dimension": pca_dimension(test[name], options["pca_fraction"]),
                     "distance_ratio": distance_ratio(test[name], test_labels)}
    return out


def _run(context: Context) -> Result:
    trained = _measures(context, control=False)
    control = _measures(context, control=True) if context.options["probes"]["control"] else None
    stages = [{"stage": name, "dimension": int(context.stage_features("test")[0][name].shape[1]), "trained": trained[name],
               **({"control": control[name]} if control else {})} for name in trained]
    curve = [stage["trained"]["linear_probe"] for stage in stages]
    numbers = {"stages": stages, "train_images": len(context.train), "test_images": len(context.test),
               "weight_decay": context.options["probes"]["weight_decay"], "tolerance": TOLERANCE,
               "non_decreasing": all(b >= a - TOLERANCE for a, b in zip(curve, curve[1:])),
               "last_stage": stages[-1]["stage"], "last_linear_probe": curve[-1]}
    figures = {"probes": probes_figure(stages, f"{context.name}: probes at each stage, trained and random")} if control else {}
    return Result(numbers, figures, _report(numbers), {"analysis/linear_probe_last": curve[-1]})


def _report(probes: dict) -> list[str]:
    control = "control" in probes["stages"][0]
    lines = ["## Probes at each stage (features averaged over space)", "",
             f"Linear probe (multinomial logistic regression, λ = {probes['weight_decay']:g}) and 1-NN fitted on "
             f"{probes['train_images']} training images, tested on {probes['test_images']}; contraction on the test "
             "features. " + ("Beside each, the same architecture with random weights (BatchNorm statistics on the "
                             "training images)." if control else ""), "",
             "| stage | dimension | linear probe (%) | 1-NN (%) | PCA dim (90%) | intra/inter |"
             + (" control: probe (%) | 1-NN (%) | PCA dim | intra/inter |" if control else ""),
             "|---|---|---|---|---|---|" + ("---|---|---|---|" if control else "")]
    for stage in probes["stages"]:
        cells = []
        for which in ("trained", "control") if control else ("trained",):
            r = stage[which]
            cells += [f"{100 * r['linear_probe']:.2f}", f"{100 * r['nn_accuracy']:.2f}", str(r["pca_dimension"]),
                      f"{r['distance_ratio']:.3f}"]
        lines.append(f"| `{stage['stage']}` | {stage['dimension']} | " + " | ".join(cells) + " |")
    verdict = "non-decreasing" if probes["non_decreasing"] else "**not** non-decreasing"
    return lines + ["", f"Linear-probe curve {verdict} over the stages (tolerance {100 * probes['tolerance']:.0f} point); "
                    f"last stage `{probes['last_stage']}`: {100 * probes['last_linear_probe']:.2f}%.", ""]


PROBES = Section("probes", ("probes",), _check, lambda network: None, _run)
