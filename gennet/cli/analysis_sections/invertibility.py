"""``invertibility``: for a network with an exact inverse (an i-RevNet): the test images rebuilt from the last layer
(float32 and float64), straight lines between final representations inverted to images, editions toward another
class, and the local conditioning ``σ_max(∂Φ)·σ_max(∂Φ⁻¹)`` at test points (DESIGN §14,
:mod:`gennet.analysis.invertibility`). Other networks: not applicable (named in ``analysis=[invertibility]``: an
error)."""

from __future__ import annotations

import copy

import torch

from ...analysis import class_means, edit_toward, interpolate, is_invertible, local_conditioning, reconstruction_error
from ...errors import check_int
from ...figures.invertibility import conditioning_figure, edition_figure, interpolation_figure, reconstruction_figure
from .section import Context, Result, Section

__all__ = ["INVERTIBILITY"]


def _check(cfg) -> dict:
    options = cfg.invertibility
    return dict(pairs=check_int("invertibility.pairs", options.pairs, 1),
                steps=check_int("invertibility.steps", options.steps, 2),
                edit_pairs=check_int("invertibility.edit_pairs", options.edit_pairs, 1),
                shown=check_int("invertibility.shown", options.shown, 1),
                conditioning_points=check_int("invertibility.conditioning_points", options.conditioning_points, 1),
                power_iterations=check_int("invertibility.power_iterations", options.power_iterations, 1))


def _applies(network) -> str | None:
    if is_invertible(network):
        return None
    return f"needs a network with an inverse (features, inverse and head: an i-RevNet); {type(network).__name__} has none"


def _reconstruction(context: Context) -> dict:
    network = context.network
    worst = {"float32": {"max_abs": 0.0, "max_relative": 0.0}, "float64": {"max_abs": 0.0, "max_relative": 0.0}}
    double = copy.deepcopy(network).double()
    for x, _ in context.batches(context.test, "reconstruction"):
        for dtype, net, images in (("float32", network, x.float()), ("float64", double, x.double())):
            found = reconstruction_error(net, images)
            for key in ("max_abs", "max_relative"):
                worst[dtype][key] = max(worst[dtype][key], found[key])
            sizes = {k: found[k] for k in ("input_values", "feature_values")}
    return {**worst, **sizes, "images": len(context.test), "bijective": sizes["input_values"] == sizes["feature_values"]}


def _edition(context: Context, options: dict) -> tuple[dict, object]:
    network = context.network
    means = class_means(network, context.batches(context.train, "class means of Φ"), context.num_classes)
    x, y = context.images(context.test, None)
    with torch.no_grad():
        correct = (network(x).argmax(1).cpu() == y).nonzero()[:, 0][: options["edit_pairs"]]
    x, source = x[correct.to(x.device)], y[correct]
    generator = torch.Generator().manual_seed(context.seed)
    target = (source + torch.randint(1, context.num_classes, source.shape, generator=generator)) % context.num_classes
    edition = edit_toward(network, x, source, target, means)
    flipped = edition.flipped
    numbers = {"pairs": len(source), "flipped": float(flipped.double().mean()),
               "flipped_in_features": float(edition.flipped_features.double().mean()),
               "median_alpha": float(edition.alpha[flipped].median()) if bool(flipped.any()) else None,
               "median_change": float(edition.change[flipped].median()) if bool(flipped.any()) else None}
    shown = slice(0, options["shown"])
    figure = edition_figure(x[shown], edition.images[shown], source[shown], target[shown], edition.predicted[shown],
                            edition.alpha[shown], f"{context.name}: edition toward another class "
                            f"({100 * numbers['flipped']:.0f}% of {numbers['pairs']} pairs flipped)")
    return numbers, figure


def _run(context: Context) -> Result:
    options, network = context.options["invertibility"], context.network
    numbers = {"reconstruction": _reconstruction(context)}
    figures = {}
    x, _ = context.images(context.test, options["shown"])
    with torch.no_grad():
        rebuilt = network.inverse(network.features(x))
    figures["reconstruction"] = reconstruction_figure(x, rebuilt, numbers["reconstruction"]["float32"]["max_abs"],
                                                      f"{context.name}: the images rebuilt from the last layer")
    images, _ = context.images(context.test, 2 * options["pairs"])
    P = images.shape[0] // 2
    through_features, through_pixels = interpolate(network, images[:P], images[P : 2 * P], options["steps"])
    with torch.no_grad():
        predicted = network(through_features.flatten(0, 1)).argmax(1).reshape(P, -1).cpu()
    endpoints = torch.stack([(through_features[:, 0] - images[:P]).abs().max(), (through_features[:, -1] - images[P : 2 * P]).abs().max()])
    numbers["interpolation"] = {"pairs": P, "steps": options["steps"], "endpoint_error": endpoints.max().item()}
    figures["interpolation"] = interpolation_figure(through_features, through_pixels, predicted,
                                                    f"{context.name}: straight lines in pixels and in Φ, inverted")
    numbers["edition"], figures["edition"] = _edition(context, options)
    points, _ = context.images(context.test, options["conditioning_points"])
    conditioning = local_conditioning(network, points, options["power_iterations"], context.seed)
    numbers["conditioning"] = {"points": points.shape[0], "power_iterations": options["power_iterations"],
                               **{k: v.tolist() for k, v in conditioning.items()},
                               "median_kappa": conditioning["kappa"].median().item(), "max_kappa": conditioning["kappa"].max().item()}
    figures["conditioning"] = conditioning_figure(conditioning["sigma_forward"].cpu(), conditioning["sigma_inverse"].cpu(),
                                                  f"{context.name}: local conditioning at test images")
    metrics = {"analysis/reconstruction_max_abs": numbers["reconstruction"]["float32"]["max_abs"],
               "analysis/edition_flipped": numbers["edition"]["flipped"], "analysis/median_kappa": numbers["conditioning"]["median_kappa"]}
    return Result(numbers, figures, _report(numbers), metrics)


def _report(numbers: dict) -> list[str]:
    r, i, e, c = numbers["reconstruction"], numbers["interpolation"], numbers["edition"], numbers["conditioning"]
    kind = "bijective" if r["bijective"] else "injective"
    edited = ("" if e["median_alpha"] is None else
              f" (median α {e['median_alpha']:.2f}, median ‖x' − x‖/‖x‖ {e['median_change']:.2f})")
    return ["## Invertibility", "",
            f"Representation: {r['feature_values']} values per image for {r['input_values']} pixels ({kind}).", "",
            "| measure | value |", "|---|---|",
            f"| max \\|x − Φ⁻¹(Φ(x))\\|, float32 ({r['images']} test images) | {r['float32']['max_abs']:.3g} |",
            f"| max \\|x − Φ⁻¹(Φ(x))\\|, float64 | {r['float64']['max_abs']:.3g} |",
            f"| max relative error ‖x − Φ⁻¹Φx‖/‖x‖, float32 / float64 | {r['float32']['max_relative']:.3g} / {r['float64']['max_relative']:.3g} |",
            f"| interpolation endpoints, max error ({i['pairs']} pairs, {i['steps']} steps) | {i['endpoint_error']:.3g} |",
            f"| edition: edited image classified as the target ({e['pairs']} pairs) | {100 * e['flipped']:.1f}%{edited} |",
            f"| edition: head on the edited representation gives the target | {100 * e['flipped_in_features']:.1f}% |",
            f"| local conditioning κ = σ_max(∂Φ)·σ_max(∂Φ⁻¹), median / max over {c['points']} test images | "
            f"{c['median_kappa']:.3g} / {c['max_kappa']:.3g} |", ""]


INVERTIBILITY = Section("invertibility", ("reconstruction", "interpolation", "edition", "conditioning"), _check, _applies, _run)
