"""``separation``: at each stage (features averaged over space), the 1-NN test accuracy and the number of k-Local
Support Vectors (Oyallon, CVPR 2017; DESIGN §11, :mod:`gennet.analysis.separation`)."""

from __future__ import annotations

from ...analysis import local_support_vectors, nearest_neighbour_accuracy
from ...errors import ConfigError, check_int
from ...figures.analysis import separation_figure
from .section import Context, Result, Section

__all__ = ["SEPARATION"]


def _check(cfg) -> dict:
    ks = [check_int(f"lsv_k[{i}]", k, 1) for i, k in enumerate(cfg.lsv_k)]
    if not ks:
        raise ConfigError("lsv_k", "must list at least one k")
    if cfg.max_train_images is not None:
        check_int("max_train_images", cfg.max_train_images, max(ks))
    return {"ks": ks}


def _run(context: Context) -> Result:
    references, train_labels = context.stage_features("train")
    queries, test_labels = context.stage_features("test")
    stages = []
    for name in queries:
        r, q = references[name], queries[name]
        stages.append({"stage": name, "dimension": int(q.shape[1]),
                       "nn_accuracy": nearest_neighbour_accuracy(q, test_labels, r, train_labels),
                       "lsv": local_support_vectors(q, test_labels, r, train_labels, context.options["separation"]["ks"])})
    numbers = {"stages": stages, "queries": len(context.test), "references": len(context.train)}
    figure = separation_figure(stages, f"{context.name}: progressive separation")
    return Result(numbers, {"separation": figure}, _report(numbers))


def _report(sep: dict) -> list[str]:
    ks = list(sep["stages"][0]["lsv"])
    lines = ["## Progressive separation", "",
             f"Features averaged over space; {sep['queries']} test images against {sep['references']} training images.", "",
             "| stage | dimension | 1-NN accuracy (%) | " + " | ".join(f"{k}-LSV" for k in ks) + " |",
             "|---|---|---|" + "---|" * len(ks)]
    for stage in sep["stages"]:
        lines.append(f"| `{stage['stage']}` | {stage['dimension']} | {100 * stage['nn_accuracy']:.2f} | "
                     + " | ".join(str(stage["lsv"][k]) for k in ks) + " |")
    return lines + [""]


SEPARATION = Section("separation", ("separation",), _check, lambda network: None, _run)
