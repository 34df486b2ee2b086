"""What trained classifiers rely on, on the bundled digits: scattering networks against a CNN (DESIGN §15, issue 29).

One command trains every network of :data:`NETWORKS` with the digits recipe (``+experiment=mnist_digits``: SGD 0.1,
momentum 0.9, weight decay 5e-4, cosine, batch 128) through ``train.py``'s own function, in five variants —

    seed0, seed1         plain data, two seeds (knowledge consistency between them);
    low4, high4          data.frequency_filter=low:4 / high:4 (Wang et al.: train on x_l or x_h, test on x);
    flip                 data.frequency_flip=true (Ortiz-Jiménez et al.: train and test on DCT-flipped digits)

— then runs ``analyze.py runs=DIR analysis=[frequency,margins,robustness,spectral]`` on the runs (the comparison
table), and two experiments that need networks trained on purpose-built targets:

- spectral bias (Rahaman et al. 2019): digits 3 vs 8 regressed to ±1 plus a sinusoid planted at k = 1, 2, 4, 8
  periods along a random direction (one output per k); which k each network fits first;
- CaCE (Goyal et al. 2019): digits 3 vs 8 with a bar stamped on the 8s at rate p and on the 3s at rate q; the
  causal effect of the bar by intervention against ConExp and captum's TCAV.

Adding a network is one entry of :data:`NETWORKS` (its ``train.py`` overrides and the layer TCAV reads).
Writes ``--output`` (default ``outputs/what_networks_rely_on``): ``runs/``, ``analysis/`` (comparison.md, figures),
``experiments.json``, ``planted_noise.png``, ``cace.png``; prints the tables and the seconds of each part.

    python benchmarks/what_networks_rely_on.py               # training included: 15.1 min of wall time, 2 threads, quiet
                                                             # 2-core CPU (torch 2.14.1); with --threads 1: 26.1 min of
                                                             # CPU time, 38.4 min of wall time at load 5
    python benchmarks/what_networks_rely_on.py --networks hybrid_scatnet --epochs 1 --output /tmp/quick
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install

#: name → ``train.py`` overrides on top of ``+experiment=mnist_digits``, the module TCAV reads activations at, and
#: (optionally) the fewest epochs the network is trained for whatever ``--epochs`` says.
NETWORKS = {
    "sparse_scatnet": {"overrides": ["model=sparse_scatnet", "model.scattering.J=2", "model.proj_channels=64", "model.num_atoms=256",
                                     "model.hidden=512", "model.pool_size=2", "model.pool_stride=2",
                                     "model.standardization_samples=1000"], "tcav_layer": "projection"},
    "hybrid_scatnet": {"overrides": ["model=hybrid_scatnet", "model.network.J=2", "model.network.widths=[64,128]",
                                     "model.network.blocks=[2,2]"], "tcav_layer": "layer1"},
    "resnet18": {"overrides": ["model=resnet", "model.network.stem=imagenet"], "tcav_layer": "layer2"},
    # the digits' injective i-RevNet of +experiment=mnist_irevnet (nothing lost up to Φ(x)); at least 4 epochs: after
    # 1 epoch (31 steps) it is at chance (11.4% test accuracy), after 4 at 96.8%. TCAV reads a coupling block
    # (forward() calls the blocks, not the stage holding them).
    "irevnet": {"overrides": ["model=irevnet", "model.network.blocks=[2,2,2]", "model.network.widths=[16,64,256]",
                              "model.network.bottleneck=[16,32,64]", "model.network.dropout=0.0", "model.lr_schedule=cosine"],
                "tcav_layer": "stage2.1", "min_epochs": 4},
}
VARIANTS = {"seed0": [], "seed1": ["seed=1"], "low4": ["data.frequency_filter=low:4"],
            "high4": ["data.frequency_filter=high:4"], "flip": ["data.frequency_flip=true"]}
SECTIONS = ["frequency", "margins", "robustness", "spectral"]
#: the benchmark's sizes of the sections (analyze.yaml's defaults measure more images)
ANALYSIS = ("max_images=200", "robustness.images=100", "robustness.linf=[0.05,0.1,0.2]", "robustness.l2=[0.5,1.0,2.0]",
            "margins.images=12", "margins.candidates=4", "margins.max_iter=30",
            "spectral.lines=12", "frequency.smoothing=[0.0,0.25,0.5]", "lipschitz.power_iterations=50")
CLASSES = (3, 8)  # the two digits of the spectral-bias and CaCE experiments
KS = (1.0, 2.0, 4.0, 8.0)
RATES = ((0.5, 0.5), (0.95, 0.05))  # bar on the 8s, on the 3s


def compose(config: str, overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from gennet.cli.resolvers import register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(REPO / "gennet" / "conf"), version_base="1.3"):
        return hydra_compose(config, overrides=overrides)


def train_runs(root: Path, networks: list[str], variants: list[str], epochs: int) -> dict:
    """Every (network, variant) through ``gennet.cli.train.train``; an existing run is kept (and not retrained)."""
    from gennet.cli.train import train

    seconds = {}
    for variant in variants:  # every network's plain run first: the comparison is complete the earliest
        for name in networks:
            extra, run_dir = VARIANTS[variant], root / name / variant
            if (run_dir / "checkpoints" / "last.ckpt").is_file():
                continue
            cfg = compose("train", ["+experiment=mnist_digits", *NETWORKS[name]["overrides"], *extra, "data.seed=0",
                                    f"paths.output_dir={run_dir}", "logger=csv",
                                    f"trainer.max_epochs={max(epochs, NETWORKS[name].get('min_epochs', 1))}",
                                    "+trainer.enable_progress_bar=false",
                                    "trainer.enable_model_summary=false"])
            start = time.perf_counter()
            metrics = train(cfg)
            seconds[f"{name}/{variant}"] = time.perf_counter() - start
            print(f"trained {name}/{variant}: test acc {100 * metrics['test/acc']:.2f}%  {seconds[f'{name}/{variant}']:.0f} s", flush=True)
    return seconds


def two_digits(split: str):
    """Images and labels (0 for a 3, 1 for an 8) of the two digits in a split of the seed-0 MNIST5k split."""
    from gennet.data import MNIST5kDataModule

    datamodule = MNIST5kDataModule(seed=0)
    datamodule.setup()
    images, labels = getattr(datamodule, f"{split}_dataset").tensors
    keep = (labels == CLASSES[0]) | (labels == CLASSES[1])
    return images[keep], (labels[keep] == CLASSES[1]).long()


def fresh_network(name: str, outputs: int, images: torch.Tensor, seed: int):
    """The network of ``name`` as ``train.py`` builds it, with ``outputs`` outputs, its standardization (if any) fitted."""
    from hydra.utils import instantiate

    torch.manual_seed(seed)
    cfg = compose("train", ["+experiment=mnist_digits", *NETWORKS[name]["overrides"], f"seed={seed}"])
    network = instantiate(cfg.model, _convert_="all", image_size=32, channels=1, num_classes=outputs).network
    if hasattr(getattr(network, "features", None), "fit_"):
        network.features.fit_(images.split(256))
    return network, cfg.model


def spectral_bias(name: str, steps: int) -> dict:
    from gennet.analysis import fit_planted_noise, planted_noise

    images, labels = two_digits("train")
    clean = labels.float() * 2 - 1
    noise = planted_noise(images, KS, amplitude=0.5, seed=0)
    network, _ = fresh_network(name, len(KS), images, seed=0)
    return fit_planted_noise(network, images, clean, noise, steps=steps, record_every=max(1, steps // 10), lr=1e-3)


def cace(name: str, steps: int, rate_target: float, rate_others: float) -> dict:
    """Train on 3 vs 8 with confounded bars; GT-CaCE, ConExp and TCAV of the bar for the class '8'."""
    from gennet.analysis import causal_concept_effect, conditional_concept_effect, confounded_bars, stamp_bar, tcav_score

    images, labels = two_digits("train")
    has = confounded_bars(labels, 1, rate_target, rate_others, seed=0)
    observed = torch.where(has[:, None, None, None], stamp_bar(images), images)
    network, model_cfg = fresh_network(name, 2, observed, seed=0)
    optimizer = torch.optim.SGD(network.parameters(), lr=model_cfg.lr, momentum=0.9, weight_decay=model_cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(0)
    network.train()
    for step in range(steps):
        batch = torch.randint(len(images), (64,), generator=generator)
        loss = F.cross_entropy(network(observed[batch]), labels[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    network.eval()
    test, test_labels = two_digits("test")
    test_has = confounded_bars(test_labels, 1, rate_target, rate_others, seed=1)
    test_observed = torch.where(test_has[:, None, None, None], stamp_bar(test), test)
    with torch.no_grad():
        accuracy = float((network(test_observed).argmax(1) == test_labels).double().mean())
    train_plain = images[~has]
    return {"network": name, "rate_target": rate_target, "rate_others": rate_others, "test_accuracy": accuracy,
            "gt_cace": causal_concept_effect(network, test, 1),
            "conexp": conditional_concept_effect(network, test_observed, test_has, 1),
            "tcav": tcav_score(network, NETWORKS[name]["tcav_layer"], stamp_bar(train_plain[:100]), train_plain[100:200],
                               test[test_labels == 1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--epochs", type=int, default=2, help="epochs of every train.py run (31 steps of 128 digits each; a network's min_epochs if more)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--experiment-steps", type=int, default=80, help="steps of the planted-noise and CaCE trainings")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-experiments", action="store_true", help="only the runs and their comparison table")
    parser.add_argument("--output", type=Path, default=Path("outputs/what_networks_rely_on"))
    parser.add_argument("--analysis", nargs="*", default=list(ANALYSIS), help="overrides of analyze.yaml (frequency.*, margins.*, …)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    from gennet.cli.analyze import compare
    from gennet.figures.reliance import cace_figure, planted_noise_figure
    from gennet.files import save_figure_atomic, write_text_atomic

    start, cpu = time.perf_counter(), time.process_time()
    timing = {"training": train_runs(args.output / "runs", args.networks, args.variants, args.epochs)}
    timing["training_total"] = time.perf_counter() - start
    mark = time.perf_counter()
    comparison = compare(compose("analyze", [f"runs={args.output / 'runs'}", f"output={args.output / 'analysis'}",
                                             f"analysis=[{','.join(SECTIONS)}]", "device=cpu", *args.analysis]))
    timing["analysis"] = time.perf_counter() - mark
    if args.skip_experiments:
        print("\n" + comparison["table"])
        return
    mark = time.perf_counter()
    planted = {name: spectral_bias(name, args.experiment_steps) for name in args.networks}
    timing["spectral_bias"] = time.perf_counter() - mark
    mark = time.perf_counter()
    concept = [cace(name, args.experiment_steps, p, q) for name in args.networks for p, q in RATES]
    timing["cace"] = time.perf_counter() - mark
    timing["total"] = time.perf_counter() - start
    timing["total_cpu"] = time.process_time() - cpu
    save_figure_atomic(planted_noise_figure(planted), args.output / "planted_noise.png")
    save_figure_atomic(cace_figure(concept), args.output / "cace.png")
    write_text_atomic(args.output / "experiments.json", json.dumps(
        {"planted_noise": planted, "cace": concept, "seconds": timing, "torch": torch.__version__, "threads": args.threads,
         "epochs": args.epochs, "experiment_steps": args.experiment_steps}, indent=2, default=str) + "\n")

    print("\n" + comparison["table"])
    print("\nSpectral bias: fraction of the planted sinusoid fitted after the last step, and (in brackets) the first "
          f"recorded step with half of it fitted (digits {CLASSES[0]} vs {CLASSES[1]}, {args.experiment_steps} Adam steps; '–': never)\n")
    print("| network | " + " | ".join(f"k = {k:g}" for k in KS) + " |\n|---|" + "---|" * len(KS))
    for name, history in planted.items():
        cells = [f"{c:.2f} ({'–' if s is None else s})" for c, s in zip(history["fitted"][-1], history["first_half"])]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nCaCE of a bar stamped on the {CLASSES[1]}s (rate p) and the {CLASSES[0]}s (rate q), class '{CLASSES[1]}'\n")
    print("| network | p / q | test acc. (%) | GT-CaCE | ConExp | TCAV |\n|---|---|---|---|---|---|")
    for row in concept:
        print(f"| {row['network']} | {row['rate_target']:.2f} / {row['rate_others']:.2f} | {100 * row['test_accuracy']:.1f} | "
              f"{row['gt_cace']:.3f} | {row['conexp']:.3f} | {row['tcav']:.2f} |")
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
    print(f"\nseconds: training {timing['training_total']:.0f}, analysis {timing['analysis']:.0f}, spectral bias "
          f"{timing['spectral_bias']:.0f}, CaCE {timing['cace']:.0f}; total {timing['total']:.0f} (CPU time {timing['total_cpu']:.0f}) "
          f"(torch {torch.__version__}, {args.threads} threads, load {' '.join(load)})")
    print(f"written: {args.output.resolve()}")


if __name__ == "__main__":
    main()
