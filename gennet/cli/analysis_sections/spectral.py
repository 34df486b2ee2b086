"""``spectral`` (``analysis=[spectral]``; off by default): the power spectrum of the logit margin along random lines
through test images and along the paths between pairs of test images (Rahaman et al., ICML 2019;
:mod:`gennet.analysis.spectral`)."""

from __future__ import annotations

import torch

from ...analysis import high_frequency_fraction, image_paths, line_spectrum, margin_along_lines, random_lines, spectral_median
from ...errors import check_int, check_number
from ...figures.reliance import spectral_figure
from .section import Context, Result, Section

__all__ = ["SPECTRAL"]


def _check(cfg) -> dict:
    options = cfg.spectral
    return dict(lines=check_int("spectral.lines", options.lines, 1), points=check_int("spectral.points", options.points, 8),
                radius=check_number("spectral.radius", options.radius, 0.0, strict=True),
                cutoff=check_number("spectral.cutoff", options.cutoff, 0.0, strict=True))


def _run(context: Context) -> Result:
    options = context.options["spectral"]
    n, R, points = options["lines"], options["radius"], options["points"]
    images, _ = context.test_images(2 * n)
    origins = images[:n]
    t = torch.linspace(-R, R, points, dtype=images.dtype, device=images.device)
    lines = {}
    m = margin_along_lines(context.network, origins, random_lines(origins, context.seed), t, batch_size=context.batch_size)
    lines["random lines"] = line_spectrum(m, t[1] - t[0])
    if len(images) >= 2 * n:
        directions, lengths = image_paths(images[:n], images[n : 2 * n])
        steps = torch.linspace(0, 1, points, dtype=images.dtype, device=images.device)[None] * lengths[:, None]
        m = margin_along_lines(context.network, images[:n], directions, steps, batch_size=context.batch_size)
        lines["image paths"] = line_spectrum(m, lengths / (points - 1))
    numbers = {"lines": n, "points": points, "radius": R, "cutoff": options["cutoff"], "kinds": {}}
    for kind, (nu, power) in lines.items():
        numbers["kinds"][kind] = {
            "spectral_median": float(spectral_median(nu, power).median()),
            "high_fraction": float(high_frequency_fraction(nu, power, options["cutoff"]).median()),
            "frequencies": nu[0].tolist() if kind == "random lines" else None,
            "mean_power": (power / power[:, 1:].sum(1, keepdim=True).clamp_min(1e-300)).mean(0).tolist()
            if kind == "random lines" else None,
        }
    random = numbers["kinds"]["random lines"]
    row = {"margin spectrum median ν (random lines)": f"{random['spectral_median']:.3g}",
           f"energy at ν ≥ {options['cutoff']:g}": f"{100 * random['high_fraction']:.1f}%"}
    report = ["## Spectrum of the logit margin (Rahaman et al. 2019)", "",
              f"{n} lines, {points} points each: random directions over t ∈ [−{R:g}, {R:g}] (image units) and paths "
              "between two test images; ν in cycles per unit of ℓ2 distance.", "",
              "| lines | median spectral median ν | median energy fraction at ν ≥ cut-off |", "|---|---|---|"]
    report += [f"| {k} | {v['spectral_median']:.4g} | {100 * v['high_fraction']:.2f}% |" for k, v in numbers["kinds"].items()]
    return Result(numbers, _compare({context.name: numbers}), report + [""], row=row)


def _compare(numbers: dict[str, dict]) -> dict:
    return {"spectral": spectral_figure(numbers)}


SPECTRAL = Section("spectral", ("spectral",), _check, lambda network: None, _run, default=False, compare=_compare)
