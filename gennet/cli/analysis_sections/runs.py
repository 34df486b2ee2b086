"""``python analyze.py runs=DIR output=OUT analysis=[frequency,margins,robustness,spectral]``: the sections on every run
of a directory (each ``…/checkpoints/last.ckpt`` under ``DIR``) and one comparison table across the networks.

What a run was trained on is read from its checkpoint's data record, and decides what is measured on it:

- runs on the plain data: the sections asked for (those with a figure of several networks, ``Section.compare``;
  ``analysis=null``: all of them), one row each of the comparison table;
- runs with ``data.frequency_filter=low:R`` / ``high:R``: accuracy on the original test images and on their
  ``x_l`` / ``x_h`` at that ``R`` (Wang et al.'s Table 1: trained on ``x_l``, tested on ``x``), joined to the
  row of their network;
- runs with ``data.frequency_flip=true``: test accuracy on flipped images and the ``margins`` section
  (Ortiz-Jiménez et al.: do the margins flip with the data?), joined likewise;
- two plain runs of the same network and data that differ only by the seed: knowledge consistency of their
  penultimate features (Liang et al. 2020), at fuzziness orders 0, 1, 2.

Writes ``OUT/comparison.md``, ``comparison.json`` and the figures of every section with all networks together
(``OUT/<section>.png``); each run's Markdown report as ``OUT/runs/<run>.md`` — all of them or none
(:func:`~gennet.cli.startup.writing`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ...analysis import knowledge_consistency, penultimate_features, split_accuracy
from ...data.frequency import parse_frequency_filter
from ...errors import ConfigError
from ...files import save_figure_atomic, write_text_atomic
from ..checkpoints import load_checkpoint
from ..generation import datamodule_for
from ..startup import writing
from . import SECTIONS, Context, Section
from .margins import MARGINS
from .section import subset

__all__ = ["find_runs", "compare_runs", "RESULTS"]

#: What ``runs=DIR`` writes into its output folder (besides ``runs/``); a folder holding any of them is an earlier result.
RESULTS = ("comparison.json", "comparison.md", "margins_flipped.png",
           *(f"{stem}.png" for section in SECTIONS if section.compare for stem in section.files))


def find_runs(root: Path) -> list[Path]:
    """The run directories under ``root`` (those holding ``checkpoints/last.ckpt``), sorted.

    Raises:
        ConfigError: ``runs``, when ``root`` is not a directory or holds no run.
    """
    if not root.is_dir():
        raise ConfigError("runs", f"'{root}' is not a directory")
    runs = sorted(p.parent.parent for p in root.rglob("checkpoints/last.ckpt"))
    if not runs:
        raise ConfigError("runs", f"no run (…/checkpoints/last.ckpt) under '{root}'")
    return runs


def _identity(checkpoint: dict) -> tuple[str, dict]:
    """(what the network and its data are, seeds left out; the data record)."""
    hp = {k: v for k, v in checkpoint.get("hyper_parameters", {}).items() if k != "seed"}
    data = dict(checkpoint.get("gennet_data") or {})
    plain = {k: v for k, v in data.items() if k not in ("seed", "frequency_filter", "frequency_flip")}
    return json.dumps([hp, plain], sort_keys=True, default=str), data


def _is_variant(checkpoint: dict) -> bool:
    data = checkpoint.get("gennet_data") or {}
    return bool(data.get("frequency_filter") or data.get("frequency_flip"))


def _network_name(run: Path, root: Path) -> str:
    """The first folder of the run below ``root`` (``DIR/<network>/<variant>``), or the run's folder name."""
    parts = run.relative_to(root).parts
    return parts[0] if len(parts) > 1 else run.name


def _images(dataset, limit: int | None, seed: int) -> torch.Tensor:
    """The images of a seeded random subset of ``limit`` items of ``dataset`` (:func:`~.section.subset`)."""
    return torch.stack([x for x, _ in subset(dataset, limit, seed)])


def _load(run: Path, device, load_classifier):
    module, checkpoint = load_classifier(run / "checkpoints" / "last.ckpt", device)
    datamodule = datamodule_for(checkpoint, None, run)
    datamodule.setup("fit")
    datamodule.setup("test")
    return module, checkpoint, datamodule


def compare_runs(root: Path, output: Path, sections: list[Section], options: dict, limits: tuple[int | None, int | None],
                 device, seed: int, load_classifier) -> dict:
    """Analyse every run under ``root`` and write the comparison into ``output`` (see the module docstring).

    ``options``: ``{section name: checked options}`` of every section and ``"consistency_images"``; ``limits``:
    ``(max_images, max_train_images)`` of each run's seeded subsets; ``load_classifier(path, device) → (module,
    checkpoint)``. Returns the content of ``comparison.json``.
    """
    runs = find_runs(root)
    loaded = {}
    for run in tqdm(runs, desc="reading runs", leave=False):  # the plain runs first: their measures head the table
        load_checkpoint(run / "checkpoints" / "last.ckpt")  # a bad checkpoint is one line before any work
        loaded[run] = _load(run, device, load_classifier)
    loaded = dict(sorted(loaded.items(), key=lambda item: (_is_variant(item[1][1]), str(item[0]))))
    rows, numbers, plain_groups, reports = {}, {}, {}, {}
    for run, (module, checkpoint, datamodule) in tqdm(loaded.items(), desc="analysing runs"):
        identity, data = _identity(checkpoint)
        name, network = _network_name(run, root), module.network
        context = Context(name, network, subset(datamodule.train_dataset, limits[1], seed),
                          subset(datamodule.test_dataset, limits[0], seed), int(module.hparams.num_classes), device,
                          datamodule.batch_size, seed, options)
        context.baseline = context.accuracy()
        label = str(run.relative_to(root))
        entry = {"run": label, "network": name, "class": type(network).__name__, "test_accuracy": context.baseline,
                 "frequency_filter": data.get("frequency_filter"), "frequency_flip": bool(data.get("frequency_flip")),
                 "seed": checkpoint.get("hyper_parameters", {}).get("seed")}
        row = rows.setdefault(name, {"network": name})
        filtered = parse_frequency_filter(data.get("frequency_filter"))
        if filtered is not None:
            band, r = filtered
            (split,) = split_accuracy(network, *context.test_images(options["frequency"]["images"]), [r], context.batch_size)
            entry["split"] = split.__dict__
            row[f"trained on x_{band[0]} r={r:g}: acc. x / x_l / x_h (%)"] = \
                f"{100 * entry['test_accuracy']:.1f} / {100 * split.low:.1f} / {100 * split.high:.1f}"
        elif entry["frequency_flip"]:
            row["flipped data: test acc. (%)"] = f"{100 * entry['test_accuracy']:.1f}"
            if MARGINS in sections:
                entry["margins"] = MARGINS.run(context).numbers
                dct = [s for s in entry["margins"]["subspaces"] if s["subspace"].startswith("dct")]
                row["flipped: margin lowest / highest DCT block"] = f"{dct[0]['median']:.3g} / {dct[-1]['median']:.3g}"
        else:
            plain_groups.setdefault(identity, []).append((run, network, datamodule, entry))
            if len(plain_groups[identity]) == 1:  # the first plain run of a network is its row
                row["test acc. (%)"] = f"{100 * entry['test_accuracy']:.1f}"
                lines = [f"# `{label}`: {entry['class']}, test accuracy {100 * entry['test_accuracy']:.2f}% "
                         f"({len(context.test)} images)", ""]
                for section in sections:
                    result = section.run(context)
                    entry[section.name] = result.numbers
                    row.update(result.row)
                    lines += result.report
                reports[label] = "\n".join(lines) + "\n"
        numbers[label] = entry
    consistency = _consistency(plain_groups, rows, options["consistency_images"], seed)
    return _write(output, rows, numbers, consistency, reports, sections)


def _consistency(groups: dict, rows: dict, train_images: int, seed: int) -> list[dict]:
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        (run_a, net_a, data_a, entry_a), (run_b, net_b, _, entry_b) = members[:2]
        train, test = _images(data_a.train_dataset, train_images, seed), _images(data_a.test_dataset, None, seed)
        device = next(net_a.parameters()).device
        features = [penultimate_features(net, images.to(device)) for net in (net_a, net_b) for images in (train, test)]
        unexplained = knowledge_consistency(features[2], features[0], features[3], features[1], seed=seed)
        item = {"network": entry_a["network"], "a": entry_a["run"], "b": entry_b["run"], "dimension": int(features[0].shape[1]),
                "unexplained": unexplained}
        out.append(item)
        rows[entry_a["network"]]["seeds: unexplained var. order 0 / 1 / 2"] = " / ".join(f"{v:.3f}" for v in unexplained.values())
    return out


def _table(rows: dict) -> list[str]:
    """One line per measure, one column per network."""
    measures = []
    for row in rows.values():
        measures += [m for m in row if m not in measures and m != "network"]
    lines = ["| measure | " + " | ".join(f"`{name}`" for name in rows) + " |", "|---|" + "---|" * len(rows)]
    lines += [f"| {m} | " + " | ".join(str(row.get(m, "–")) for row in rows.values()) + " |" for m in measures]
    return lines


def _write(output: Path, rows: dict, numbers: dict, consistency: list, reports: dict, sections: list[Section]) -> dict:
    result = {"rows": rows, "runs": numbers, "knowledge_consistency": consistency, "sections": [s.name for s in sections]}
    plain = {}  # the first plain run of each network: the one the sections ran on
    for e in numbers.values():
        if not e["frequency_filter"] and not e["frequency_flip"]:
            plain.setdefault(e["network"], e)
    figures = {}
    for section in sections:
        per_network = {name: e[section.name] for name, e in plain.items() if section.name in e}
        if per_network:
            figures.update(section.compare(per_network))
    flipped = {f"{e['network']} (flipped data)": e["margins"] for e in numbers.values() if e["frequency_flip"] and "margins" in e}
    if flipped:
        figures.update({f"{stem}_flipped": figure for stem, figure in MARGINS.compare(
            {**{n: e["margins"] for n, e in plain.items() if "margins" in e}, **flipped}).items()})
    table = ["# What the networks rely on", "", *_table(rows), ""]
    paths = [output / f"{stem}.png" for stem in figures]
    with writing("output", folders=[output, output / "runs"]):  # every file, or none
        for figure, path in zip(figures.values(), paths):
            save_figure_atomic(figure, path)
        for label, text in reports.items():
            write_text_atomic(output / "runs" / (label.replace("/", "__") + ".md"), text)
        write_text_atomic(output / "comparison.json", json.dumps(result, indent=2, default=str) + "\n")
        write_text_atomic(output / "comparison.md", "\n".join(table) + "\n")
    result["figures"] = [str(p) for p in paths]
    result["table"] = "\n".join(table)
    return result
