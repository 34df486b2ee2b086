"""``lipschitz``: per-layer Lipschitz upper bounds of the logits, their product (Scaman & Virmaux 2018) and an
empirical lower bound by gradient ascent on test pairs (DESIGN §11, :mod:`gennet.analysis.lipschitz`)."""

from __future__ import annotations

import torch

from ...analysis import empirical_lipschitz
from ...errors import check_int, check_number
from ...figures.analysis import lipschitz_figure
from .section import Context, Result, Section

__all__ = ["LIPSCHITZ"]


def _check(cfg) -> dict:
    return dict(
        pairs=check_int("lipschitz.pairs", cfg.lipschitz.pairs, 1),
        steps=check_int("lipschitz.steps", cfg.lipschitz.steps, 0),
        power_iterations=check_int("lipschitz.power_iterations", cfg.lipschitz.power_iterations, 1),
        lr=check_number("lipschitz.lr", cfg.lipschitz.lr, 0, strict=True),
    )


def _run(context: Context) -> Result:
    options, network, test = context.options["lipschitz"], context.network, context.test
    rows, product = context.lipschitz
    P = min(options["pairs"], len(test) // 2)
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(context.seed))[: 2 * P].tolist()
    images = torch.stack([test[i][0] for i in order]).to(context.device)
    x, y = images[:P], images[P:]
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(context.seed)).to(context.device)
    near = x + 0.01 * noise * x.flatten(1).norm(dim=1)[:, None, None, None] / noise.flatten(1).norm(dim=1)[:, None, None, None]
    far = empirical_lipschitz(network, x, y, steps=options["steps"], lr=options["lr"])
    local = empirical_lipschitz(network, x, near, steps=options["steps"], lr=options["lr"])
    empirical = {"initial": max(far["initial"], local["initial"]), "final": max(far["final"], local["final"]),
                 "test_pairs": far, "perturbed_pairs": local}
    numbers = {"layers": [dict(row.__dict__, input_shape=list(row.input_shape)) for row in rows],
               "product": product, "empirical": empirical, "pairs": 2 * P, "steps": options["steps"]}
    metrics = {"analysis/lipschitz_empirical": empirical["final"]}
    if product is not None:
        metrics["analysis/lipschitz_product"] = product
    figure = lipschitz_figure(rows, product, empirical, f"{context.name}: Lipschitz bounds")
    return Result(numbers, {"lipschitz": figure}, _report(numbers), metrics)


def _number(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    return f"{value:.4g}"


def _report(lip: dict) -> list[str]:
    lines = ["## Lipschitz constant (input → logits)", "", "| layer | operator | input shape | upper bound | how |", "|---|---|---|---|---|"]
    for row in lip["layers"]:
        lines.append(f"| `{row['name']}` | {row['operator']} | {tuple(row['input_shape'])} | {_number(row['bound'])} | {row['detail']} |")
    return lines + ["", f"Product of the per-layer bounds (Scaman & Virmaux 2018): **{_number(lip['product'])}**. "
                    f"Empirical lower bound (gradient ascent on {lip['pairs']} test pairs, {lip['steps']} steps): "
                    f"**{_number(lip['empirical']['final'])}** (start {_number(lip['empirical']['initial'])}).", ""]


LIPSCHITZ = Section("lipschitz", ("lipschitz",), _check, lambda network: None, _run)
