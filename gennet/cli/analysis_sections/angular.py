"""``angular``: the angular Fourier spectrum of the first learned layer ``W₁`` on the scattering channels and the
test accuracy when only the largest ``p%`` of its angular Fourier coefficients are kept (DESIGN §11,
:mod:`gennet.analysis.angular`). Networks without a scattering front end: not applicable."""

from __future__ import annotations

from tqdm.auto import tqdm

from ...analysis import angular_spectrum, first_layer, replaced_weight, threshold_angular
from ...errors import ConfigError
from ...figures.analysis import angular_figure, thresholding_figure
from ...transforms.scattering import Scattering2D
from .section import Context, Result, Section

__all__ = ["ANGULAR"]


def _check(cfg) -> dict:
    keep = [float(p) for p in cfg.keep_percent]
    if not keep or any(not 0 < p <= 100 for p in keep):
        raise ConfigError("keep_percent", f"must be a non-empty list of percentages in (0, 100], got {list(cfg.keep_percent)}")
    return {"keep": sorted(set(keep) | {100.0}, reverse=True)}


def _applies(network) -> str | None:
    has_scattering = any(isinstance(module, Scattering2D) for module in network.modules())
    return None if has_scattering else "the network has no scattering front end"


def _run(context: Context) -> Result:
    network, baseline = context.network, context.baseline
    example = context.images(context.test, 1)[0]
    found = first_layer(network, example)
    weight = found.module.weight.detach()
    spectrum = angular_spectrum(weight, found.layout)
    curve = []
    for percent in tqdm(context.options["angular"]["keep"], desc="thresholding W1", leave=False):
        thresholded, kept = threshold_angular(weight, found.layout, percent / 100)
        with replaced_weight(found.module, thresholded):
            accuracy = baseline if kept == 1.0 else context.accuracy()
        curve.append({"keep": percent / 100, "kept": kept, "accuracy": accuracy, "baseline": baseline})
    twenty = min(curve, key=lambda point: abs(point["keep"] - 0.2))
    omega1, omega2 = spectrum.omega1, spectrum.omega2
    numbers = {
        "layer": found.name, "shape": list(weight.shape), "channels": found.layout.num_channels,
        "omega1": omega1.tolist(), "omega1_per_scale": spectrum.omega1_per_scale.tolist(), "omega2": omega2.tolist(),
        "omega1_fraction_at_zero": float(omega1[0] / omega1.sum()) if omega1.sum() > 0 else None,
        "omega2_fraction_at_zero": float(omega2[0, 0] / omega2.sum()) if omega2.sum() > 0 else 0.0,
        "energy": spectrum.energy, "thresholding": curve,
        "delta_at_80_removed": twenty["accuracy"] - baseline, "kept_at_80_removed": twenty["kept"],
    }
    figures = {"angular_spectrum": angular_figure(spectrum, f"{context.name}: angular spectrum of W₁ = {found.name}"),
               "thresholding": thresholding_figure(curve, f"{context.name}: thresholding W₁ in angular Fourier")}
    return Result(numbers, figures, _report(numbers), {"analysis/delta_acc_at_80_removed": numbers["delta_at_80_removed"]})


def _report(angular: dict) -> list[str]:
    lines = ["## Angular spectrum of W₁", "",
             f"W₁ = `{angular['layer']}` {angular['shape']} on {angular['channels']} scattering channels. "
             f"Energy: order 0 {angular['energy']['order0']:.4g}, order 1 {angular['energy']['order1']:.4g}, "
             f"order 2 {angular['energy']['order2']:.4g}. Fraction of the order-1 energy at ω_θ1 = 0: "
             f"{angular['omega1_fraction_at_zero']:.3f}; order 2 at (0, 0): {angular['omega2_fraction_at_zero']:.3f}.", "",
             "| % coefficients kept (asked) | % kept | test accuracy (%) | Δ (points) |", "|---|---|---|---|"]
    for point in angular["thresholding"]:
        lines.append(f"| {100 * point['keep']:.0f} | {100 * point['kept']:.1f} | {100 * point['accuracy']:.2f} | "
                     f"{100 * (point['accuracy'] - point['baseline']):+.2f} |")
    return lines + ["", f"**80% of the angular Fourier coefficients removed → Δacc = {100 * angular['delta_at_80_removed']:+.2f} points.**", ""]


ANGULAR = Section("angular", ("angular_spectrum", "thresholding"), _check, _applies, _run)
