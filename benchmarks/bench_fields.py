"""Stationary models on sparse, non-Gaussian fields: ``synthesize.py``'s default model against the Gaussian
(random-phase) baseline, with the shapes of the objects (issues 20 and 33).

The suite (:data:`gennet.stationary.fields.FIELDS`, built in code): Boolean models of disks (three densities and radius
laws), of squares and of aligned ellipses, a Boolean model of thin segments, the edges of a Poisson–Voronoi
tessellation ("cells") and a turbulence-like multifractal field. The model and its settings are **synthesize.py's
defaults** (``gennet/conf/synthesize/synthesize.yaml``, built by :func:`gennet.cli.stationary_models.build_statistics`;
``--set key=value`` changes one, e.g. ``--set model=phase_harmonic``). Per field, one process,
``torch.set_num_threads(threads)``: ours and the Gaussian model, judged on :mod:`gennet.stationary.metrics` (the
scattering error of orders 1–2 on images standardized by the original, the pixel-histogram W1 ÷ the original's std,
the structure-function error, the spectrum error, the copy check) and :mod:`gennet.stationary.shapes` (the Minkowski
error of the excursion sets, the circularity of the objects, the straightness of the lines), with the iterations,
the loss reduction and the seconds. With the histogram projection (the default), W1 is judged on the samples *before*
it (after it the histogram is imposed and W1 is 0); the other lines on the projected samples, which synthesize.py writes.

Acceptance (issue 33), printed per field: Gaussian/ours ≥ 2 on the scattering error, on W1 (before the projection) and
on the Minkowski error; copy check < 0.9; ≤ 150 s per 256² sample; on the fields of convex objects (disks, squares)
the median circularity within 0.08 of the original's and its W1 ≥ 3× closer than the Gaussian model's; on the line
fields (segments, cells) the straightness within 10% of the original's (with the branch length beside it, not
judged: straightness alone does not tell long lines from short straight pieces). ``--save-samples DIR`` writes each field's
panel (the original, a Gaussian sample and ours with their Minkowski curves) and PNGs of the first samples
(**contrast-stretched**: the original's [min, max] ↦ 0..255; the turbulence field is not in [0, 1]).

    python benchmarks/bench_fields.py --threads 1 --samples 4 --output fields.md --save-samples fields
    python benchmarks/bench_fields.py --fields disks_uniform --size 128 --set synthesis.n_iter=100    # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from gennet.allocator import retain_freed_memory  # noqa: E402
from gennet.cli.stationary_models import SYNTHESIS_KEYS, build_statistics, synthesize_defaults  # noqa: E402
from gennet.stationary import gaussian_samples, synthesize  # noqa: E402
from gennet.stationary.fields import FIELDS, field  # noqa: E402
from gennet.stationary.metrics import validation_metrics  # noqa: E402
from gennet.stationary.report import markdown_table  # noqa: E402
from gennet.stationary.shapes import shape_metrics  # noqa: E402

#: The fields whose objects are convex (circularity judged) and the line fields (straightness judged).
CONVEX, LINES = ("disks_uniform", "disks_sparse_constant", "disks_power", "squares"), ("segments", "cells")


def save_png(path: Path, image: torch.Tensor, original: torch.Tensor) -> None:
    """``image (1, H, W)`` as an 8-bit PNG, **contrast-stretched**: the original's [min, max] mapped to [0, 255]."""
    from PIL import Image

    low, high = float(original.min()), float(original.max())
    array = ((image[0].double().cpu().numpy() - low) / max(high - low, 1e-12)).clip(0, 1) * 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.round().astype(np.uint8)).save(path)


def field_panel(name: str, original: torch.Tensor, samples: dict[str, torch.Tensor], titles: dict[str, str]):
    """One row: the original, the first Gaussian sample and ours (grey scale: the original's range), then the three
    Minkowski functionals of the excursion sets against the threshold."""
    from matplotlib.figure import Figure

    from gennet.figures.minkowski import minkowski_axes

    fig = Figure(figsize=(20, 4.2))
    axes = fig.subplots(1, 6)
    low, high = float(original.min()), float(original.max())
    for ax, (title, image) in zip(axes[:3], [("original", original)] + [(titles[k], v[0]) for k, v in samples.items()]):
        ax.imshow(image[0].numpy(), cmap="gray", vmin=low, vmax=high)
        ax.set_title(f"{name}: {title}", fontsize=10)
        ax.axis("off")
    minkowski_axes(axes[3:], original, samples, titles)
    fig.tight_layout()
    return fig


def judge(name: str, ours: dict, raw: dict, gaussian: dict, size: int) -> tuple[bool, str]:
    """The acceptance lines of issue 33 for one field: ``(passed, text)``."""
    ratio = lambda key, mine=ours: gaussian[key] / max(mine[key], 1e-12)  # noqa: E731
    checks = [
        (ratio("scattering_error") >= 2, f"scattering {ratio('scattering_error'):.1f}× (≥ 2)"),
        (ratio("histogram_w1", raw) >= 2, f"W1 before the projection {ratio('histogram_w1', raw):.1f}× (≥ 2)"),
        (ratio("minkowski_error") >= 2, f"Minkowski {ratio('minkowski_error'):.1f}× (≥ 2)"),
        (max(ours["copy_check_max"], raw["copy_check_max"]) < 0.9, f"copy {max(ours['copy_check_max'], raw['copy_check_max']):.2f} (< 0.9)"),
    ]
    if size == 256:
        checks.append((ours["seconds_per_sample"] <= 150, f"{ours['seconds_per_sample']:.0f} s per sample (≤ 150; "
                                                          f"CPU {ours['cpu_seconds_per_sample']:.0f} s)"))
    if name in CONVEX:
        gap = abs(ours["circularity_median"] - ours["circularity_median_original"])
        checks.append((gap <= 0.08, f"circularity median {ours['circularity_median']:.3f} vs {ours['circularity_median_original']:.3f} "
                                    f"(Gaussian {gaussian['circularity_median']:.3f}; within 0.08)"))
        checks.append((ratio("circularity_w1") >= 3, f"circularity W1 {ours['circularity_w1']:.3f} vs {gaussian['circularity_w1']:.3f}: "
                                                     f"{ratio('circularity_w1'):.1f}× (≥ 3)"))
    if name in LINES:
        relative = ours["straightness"] / ours["straightness_original"] - 1
        checks.append((abs(relative) <= 0.1, f"straightness {ours['straightness']:.3f} vs {ours['straightness_original']:.3f} "
                                             f"({relative:+.1%}; Gaussian {gaussian['straightness']:.3f}; within 10%)"))
        checks.append((True, f"(not judged) branch length {ours['branch_length']:.1f} px vs {ours['branch_length_original']:.1f} "
                             f"(Gaussian {gaussian['branch_length']:.1f}): how long the straight pieces are"))
    passed = all(ok for ok, _ in checks)
    return passed, "; ".join(text for _, text in checks) + f" → {'PASS' if passed else 'FAIL'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fields", nargs="+", default=list(FIELDS), choices=list(FIELDS))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--samples", type=int, default=4, help="samples per field (synthesize.py's default num_samples)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="synthesize.py keys to change (model=…, synthesis.n_iter=…)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="also write the Markdown table here")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument("--save-samples", type=Path, default=None, help="write <field>_panel.png and <field>_{original,gaussian,ours}.png here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    retain_freed_memory()  # as synthesize.py does (gennet.allocator)
    device = torch.device(args.device)
    cfg = synthesize_defaults(args.set)
    settings = {key: cfg.synthesis[key] for key in SYNTHESIS_KEYS}
    shape = (args.size, args.size)

    rows, checks = [], []
    for name in args.fields:
        original = field(name, shape, seed=args.seed).float()
        print(f"[{name}] …", file=sys.stderr, flush=True)
        statistics = build_statistics(cfg, shape, 1).to(device)
        cpu = time.process_time()  # the process's CPU seconds: with 1 thread, the wall time a quiet machine would take
        result = synthesize(original.to(device), statistics, num_samples=args.samples, seed=args.seed, progress=False, **settings)
        image = f"{name} {args.size}²"
        ours = {"method": f"{cfg.model} (ours)", "image": image, "M": statistics.M, "seconds": result.seconds,
                "seconds_per_sample": result.seconds / args.samples, "cpu_seconds_per_sample": (time.process_time() - cpu) / args.samples,
                "seconds_per_evaluation": result.seconds / result.evaluations, "iterations": result.iterations, "loss_reduction": result.loss[0] / max(result.loss[-1], 1e-300)}
        raw = {**ours, "method": "ours before the projection"}
        samples = {"gaussian": gaussian_samples(original[0], args.samples, generator=torch.Generator().manual_seed(args.seed)),
                   "ours": result.samples.cpu(),
                   "raw": (result.unprojected if result.unprojected is not None else result.samples).cpu()}
        gaussian = {"method": "Gaussian (random phases)", "image": image, "M": args.size * (args.size // 2 + 1)}
        for row, key in ((ours, "ours"), (raw, "raw"), (gaussian, "gaussian")):
            row.update(validation_metrics(samples[key].float(), original[0], portilla_simoncelli=False))
            row.update(shape_metrics(samples[key], original[0]))
            rows.append(row)
            print(markdown_table([row]).splitlines()[-1], file=sys.stderr, flush=True)
        if args.save_samples is not None:
            args.save_samples.mkdir(parents=True, exist_ok=True)
            for key in ("gaussian", "ours", "raw"):
                save_png(args.save_samples / f"{name}_{key}.png", samples[key][0], original[0])
            save_png(args.save_samples / f"{name}_original.png", original[0], original[0])
            titles = {"gaussian": "Gaussian", "ours": f"{cfg.model} (ours)"}
            figure = field_panel(name, original[0], {k: samples[k] for k in titles}, titles)
            figure.savefig(args.save_samples / f"{name}_panel.png", dpi=80)
        passed, text = judge(name, ours, raw, gaussian, args.size)
        checks.append(f"{name}: {text}; {ours['iterations']} iterations, {ours['seconds_per_evaluation']:.3f} s per loss+gradient")
        print(checks[-1], file=sys.stderr, flush=True)
    header = (f"Stationary fields, {args.samples} sample(s), torch threads {args.threads}, device {device}, torch {torch.__version__}; "
              f"model={cfg.model} (synthesize.py's defaults{', with ' + ' '.join(args.set) if args.set else ''}), "
              f"{json.dumps(settings)}\n\n")
    table = header + markdown_table(rows) + "\n" + "\n".join(f"- {line}" for line in checks) + "\n"
    print(table)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"settings": settings, "model": cfg.model, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
