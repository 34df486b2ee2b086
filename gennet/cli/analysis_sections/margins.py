"""``margins`` (``analysis=[margins]``; off by default): subspace DeepFool margins along the diagonal DCT blocks, a
random subspace of the same dimension and the whole space, beside the certified radius of the Lipschitz bound
(Ortiz-Jiménez et al., NeurIPS 2020; :mod:`gennet.analysis.margins`). Images are not clipped to [−1, 1] (as in the
paper)."""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from ...analysis import certified_radius, diagonal_dct_subspaces, random_subspace, subspace_deepfool
from ...errors import check_int, check_number
from ...figures.reliance import margins_figure
from .section import Context, Result, Section

__all__ = ["MARGINS"]


def _check(cfg) -> dict:
    options = cfg.margins
    return dict(images=check_int("margins.images", options.images, 1),
                block=check_int("margins.block", options.block, 1),
                step=check_int("margins.step", options.step, 1),
                max_iter=check_int("margins.max_iter", options.max_iter, 1),
                overshoot=check_number("margins.overshoot", options.overshoot, 0.0),
                candidates=None if options.candidates is None else check_int("margins.candidates", options.candidates, 2))


def _median(margins: torch.Tensor, flipped: torch.Tensor) -> float:
    """The median with the margins not found (``max_iter`` reached) counted as infinite."""
    values = torch.where(flipped, margins, torch.full_like(margins, math.inf))
    return float(values.sort().values[(len(values) - 1) // 2])


def _run(context: Context) -> Result:
    options = context.options["margins"]
    images, labels = context.test_images(options["images"])
    shape = tuple(images.shape[1:])
    subspaces = diagonal_dct_subspaces(shape, options["block"], options["step"])
    rank = subspaces[0][1].shape[1] if subspaces else options["block"] ** 2 * shape[0]
    subspaces += [(f"random (dim {rank})", random_subspace(math.prod(shape), rank, seed=context.seed)), ("full space", None)]
    rows = []
    for name, basis in tqdm(subspaces, desc=f"{context.name}: DeepFool margins", leave=False):
        result = subspace_deepfool(context.network, images, basis, overshoot=options["overshoot"],
                                   max_iter=options["max_iter"], candidates=options["candidates"])
        rows.append({"subspace": name, "median": _median(result.margin, result.flipped),
                     "found": int(result.flipped.sum()), "margins": result.margin.tolist(),
                     "flipped": result.flipped.tolist()})
    lipschitz = context.lipschitz[1]
    with torch.no_grad():
        logits = context.network(images)
    certified = None if lipschitz is None else certified_radius(logits, labels, lipschitz)
    numbers = {"images": len(images), "subspaces": rows, "lipschitz_bound": lipschitz,
               "certified_median": None if certified is None else float(certified.median()),
               "max_iter": options["max_iter"], "overshoot_excluded": options["overshoot"]}
    full = rows[-1]["median"]
    dct = [r for r in rows if r["subspace"].startswith("dct")]
    row = {"margin full space (median)": f"{full:.3g}",
           "margin lowest / highest DCT block": f"{dct[0]['median']:.3g} / {dct[-1]['median']:.3g}" if dct else "–",
           "margin random subspace": f"{rows[-2]['median']:.3g}",
           "certified radius (median)": "no bound" if certified is None else f"{numbers['certified_median']:.2g}"}
    report = ["## Margins along subspaces (Ortiz-Jiménez et al. 2020)", "",
              f"Median ℓ2 margin (image units) of {len(images)} test images by subspace DeepFool (at most "
              f"{options['max_iter']} iterations; a margin not found counts as infinite).", "",
              "| subspace | median margin | found |", "|---|---|---|"]
    report += [f"| {r['subspace']} | {r['median']:.4g} | {r['found']}/{len(images)} |" for r in rows]
    report += ["", "Certified radius (f_y − max f_k)/(√2·L), L = product of the layer bounds: "
               + ("none (a layer has no Lipschitz rule)" if certified is None else
                  f"median {numbers['certified_median']:.3g} (L = {lipschitz:.4g})"), ""]
    return Result(numbers, _compare({context.name: numbers}), report, row=row)


def _compare(numbers: dict[str, dict]) -> dict:
    return {"margins": margins_figure(numbers)}


MARGINS = Section("margins", ("margins",), _check, lambda network: None, _run, default=False,
                  compare=_compare)
