"""Sample quality of digit generators per decoder × prior × temperature, judged on held-out digits (DESIGN §12).

Fréchet distance and improved precision/recall (Kynkäänniemi et al. 2019, k = 3) in the features of gennet's
digit classifier (:mod:`gennet.metrics`, penultimate layer), ``--num-samples`` samples ``G(w)``, ``w`` drawn from a
prior, against the 500 test digits. Rows:

- floor: the validation digits against the test digits (real vs real);
- ceiling, per decoder: the reconstructions ``G(Φ(x))`` of the test digits (what a perfect prior would give);
- per decoder × prior × temperature: the samples; the temperature that the *validation* digits prefer (lowest
  Fréchet distance against them) is marked ``*``;
- memorization check, per row: each sample's distance to its nearest training digit, in pixels (ℓ2, images in
  [−1, 1]) and in classifier features, against the same distance for the test digits; ``copies`` is the fraction
  of samples closer to a training digit than the 5th percentile of the test digits' distances (5% for a sampler
  of new digits; more means the prior replays its training set).

Priors (``gennet.priors``) fitted here on the training embeddings (the validation embeddings for selection):
``gaussian`` (today's N(μ, Σ)), ``mixture`` (``--mixture K,d``: K components in d whitened PCA dimensions, as many
as given), ``flow`` (flow matching, ``--flow-steps`` training steps), or a trained prior file ``NAME=PATH``
(``train_prior.py``). Fitting and sampling times are printed (CPU, measured on whatever load the machine carries).
``--refine STEPS,T,ETA`` (as many as given) adds, for every flow prior, rows of the same samples refined by the
prior's score (:class:`gennet.priors.ScoreRefinement`: ``STEPS`` ascent steps of ``log p_T(Φ(x))``, step ``ETA``), for
both decoders alike. The decoder trained for a prior's errors is a checkpoint like any other
(``python train.py model.embedding_mix=0.3``, the default since issue 31; ``model.embedding_mix=0`` for the earlier one).

    python train.py hydra.run.dir=runs/sparse
    python train.py model=cnn_generator hydra.run.dir=runs/cnn
    python benchmarks/sample_quality.py runs/sparse/checkpoints/last.ckpt runs/cnn/checkpoints/last.ckpt \\
        --priors gaussian mixture --mixture 20,32 --temperatures 0.8 0.9 1.0 --grids runs/grids
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install
from gennet.cli.devices import device_for  # noqa: E402
from gennet.cli.evaluate import is_digit_data  # noqa: E402
from gennet.cli.generation import datamodule_for, load_generator  # noqa: E402
from gennet.figures.image_grid import save_image_grid  # noqa: E402
from gennet.metrics import load_digit_classifier  # noqa: E402
from gennet.metrics.digit_quality import DigitFeatures, digit_sample_quality, first_images  # noqa: E402
from gennet.metrics.memorization import nearest_training_distances  # noqa: E402
from gennet.models.decoding import decode_batches  # noqa: E402
from gennet.priors import FlowMatching, FlowMatchingPrior, GaussianEmbedding, GaussianMixturePrior, ScoreRefinement, load_prior  # noqa: E402


def stack(dataset) -> torch.Tensor:
    return torch.cat(list(first_images(dataset, len(dataset))))


@torch.no_grad()
def memorization(samples: torch.Tensor, train: torch.Tensor, test: torch.Tensor, features: DigitFeatures, device) -> dict:
    """Nearest-training distances of samples vs test digits, in pixels and in features; fraction of copies."""
    out = {}
    feats = {}
    for name, x in (("train", train), ("test", test), ("samples", samples)):
        feats[name] = torch.cat([features(b.to(device)) for b in x.split(500)])
    out["pixels"] = nearest_training_distances(samples.flatten(1).to(device), train.flatten(1).to(device), test.flatten(1).to(device))
    out["features"] = nearest_training_distances(feats["samples"], feats["train"], feats["test"])
    return out


def run_label(path: Path, module) -> str:
    """The decoder's class and its run (``RUN/checkpoints/last.ckpt`` → ``RUN``'s name): two runs of one decoder differ."""
    run = path.parent.parent.name if path.parent.name == "checkpoints" else path.stem
    return f"{type(module.generator).__name__.removesuffix('Generator')} {run}"[:24]


def fit_prior(name: str, spec, train_w: torch.Tensor, val_w: torch.Tensor, args, device):
    shape = tuple(train_w.shape[1:])
    start = time.perf_counter()
    if name == "gaussian":
        prior = GaussianEmbedding(shape).to(device).fit_(train_w.to(device).split(256))
    elif name.startswith("mixture"):
        K, d = spec
        prior = GaussianMixturePrior(shape, num_components=K, dim=d).to(device).fit_(train_w.to(device), val_w.to(device))
    elif name == "flow":
        torch.manual_seed(args.seed)
        prior = FlowMatchingPrior(shape, width=args.flow_width, depth=args.flow_depth, steps=args.flow_ode_steps).to(device)
        prior.fit_(train_w.to(device), val_w.to(device), steps=args.flow_steps, batch_size=args.flow_batch)
    else:
        prior = load_prior(spec, map_location=device)
    return prior, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--priors", nargs="+", default=["gaussian", "mixture"],
                        help="gaussian, mixture, flow, or NAME=PATH of a trained prior file")
    parser.add_argument("--mixture", nargs="+", default=["20,32"], help="K,d of each mixture prior")
    parser.add_argument("--flow-steps", type=int, default=3000)
    parser.add_argument("--flow-width", type=int, default=64)
    parser.add_argument("--flow-depth", type=int, default=4)
    parser.add_argument("--flow-batch", type=int, default=128)
    parser.add_argument("--flow-ode-steps", type=int, default=16)
    parser.add_argument("--temperatures", nargs="+", type=float, default=[0.8, 0.9, 1.0])
    parser.add_argument("--num-samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grids", type=Path, default=None, help="folder for 64-sample PNG grids (and samples .pt)")
    parser.add_argument("--refine", nargs="*", default=[], help="STEPS,T,ETA of a score refinement (flow priors)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = device_for(args.device)
    classifier = load_digit_classifier(device)
    features = DigitFeatures(classifier).to(device)
    if args.grids:
        args.grids.mkdir(parents=True, exist_ok=True)
    specs = []
    for name in args.priors:
        if name == "mixture":
            specs += [(f"mixture K={k} d={d}", (int(k), int(d))) for k, d in (s.split(",") for s in args.mixture)]
        elif "=" in name:
            specs.append(tuple(name.split("=", 1)))
        else:
            specs.append((name, None))
    header = (f"{'decoder':<24} {'prior':<20} {'T':>5} {'FD':>7} {'prec.':>6} {'recall':>6} {'copies px':>9} "
              f"{'copies ft':>9} {'fit s':>7} {'500 smp s':>9} {'val FD':>7}")
    lines, floor, data = [header, "-" * len(header)], None, None
    fitted = {}  # name -> (training embeddings, prior, fit seconds): w = Φ(x) is the decoders' common input, fit once
    for path in args.checkpoints:
        module, checkpoint = load_generator(path, device)
        datamodule = datamodule_for(checkpoint, None, path)
        if not is_digit_data(datamodule):
            sys.exit(f"error: {path}: not trained on the bundled 32×32 digits (data=mnist5k)")
        datamodule.setup()
        if data is None:
            data = {split: stack(getattr(datamodule, f"{split}_dataset")) for split in ("train", "val", "test")}
            floor = digit_sample_quality([data["test"]], [data["val"]], device=device, classifier=classifier)
            mem = memorization(data["val"], data["train"], data["test"], features, device)
            lines.insert(2, f"{'validation digits (floor)':<45} {'–':>5} {floor['frechet_distance']:>7.2f} {floor['precision']:>6.3f} "
                            f"{floor['recall']:>6.3f} {mem['pixels']['copies']:>9.3f} {mem['features']['copies']:>9.3f}")
        decoder = run_label(path, module)
        with torch.no_grad():
            w = {split: torch.cat([module.generator.encode(x.to(device)) for x in data[split].split(256)]) for split in data}
            recon = torch.cat(list(decode_batches(module.generator, w["test"])))
        q = digit_sample_quality([data["test"]], [recon], device=device, classifier=classifier)
        mem = memorization(recon.cpu(), data["train"], data["test"], features, device)
        lines.append(f"{decoder:<24} {'ceiling G(Φ(x_test))':<20} {'–':>5} {q['frechet_distance']:>7.2f} {q['precision']:>6.3f} "
                     f"{q['recall']:>6.3f} {mem['pixels']['copies']:>9.3f} {mem['features']['copies']:>9.3f}")
        print(lines[-1], flush=True)
        for name, spec in specs:
            if name in fitted and torch.equal(fitted[name][0], w["train"]):
                prior, fit_seconds = fitted[name][1:]
            else:
                prior, fit_seconds = fit_prior(name.split(" ")[0] if spec is None or isinstance(spec, tuple) else "file",
                                               spec, w["train"], w["val"], args, device)
                fitted[name] = (w["train"], prior, fit_seconds)
            variants = {name: None}
            if isinstance(prior, FlowMatching):
                for r in args.refine:
                    steps, t, eta = r.split(",")
                    variants[f"{name} +refine {steps},{t},{eta}"] = ScoreRefinement(prior, module.generator.encode, int(steps), float(t), float(eta))
            rows = {label: [] for label in variants}
            for temperature in args.temperatures:
                start = time.perf_counter()
                draws = prior.sample(args.num_samples, torch.Generator().manual_seed(args.seed), temperature)
                decoded = torch.cat(list(decode_batches(module.generator, draws.to(device)))).cpu()
                decode_seconds = time.perf_counter() - start
                for label, refinement in variants.items():
                    start = time.perf_counter()
                    samples = decoded if refinement is None else torch.cat([refinement(b.to(device)).cpu() for b in decoded.split(100)])
                    sample_seconds = decode_seconds + time.perf_counter() - start
                    q = digit_sample_quality([data["test"]], [samples], device=device, classifier=classifier)
                    selection = digit_sample_quality([data["val"]], [samples], device=device, classifier=classifier)["frechet_distance"]
                    mem = memorization(samples, data["train"], data["test"], features, device)
                    rows[label].append((selection, temperature, q, mem, sample_seconds))
                    if args.grids:
                        stem = f"{decoder}_{label.replace(' ', '_').replace('=', '').replace(',', '_')}_T{temperature:g}"
                        save_image_grid(samples[:64], args.grids / f"{stem}.png", nrow=8)
            for label, found in rows.items():
                chosen = min(found)[1]
                for selection, temperature, q, mem, sample_seconds in found:
                    mark = "*" if temperature == chosen else " "
                    lines.append(f"{decoder:<24} {label:<20} {temperature:>4g}{mark} {q['frechet_distance']:>7.2f} {q['precision']:>6.3f} "
                                 f"{q['recall']:>6.3f} {mem['pixels']['copies']:>9.3f} {mem['features']['copies']:>9.3f} "
                                 f"{fit_seconds:>7.1f} {sample_seconds * 500 / args.num_samples:>9.1f} {selection:>7.2f}")
                    print(lines[-1], flush=True)
    print(f"\n{args.num_samples} samples per row vs {len(data['test'])} test digits; k = 3; features: gennet's digit classifier "
          "(penultimate layer, 128 numbers); copies: fraction of samples nearer a training digit than the test digits' "
          "5th percentile (pixels / features); * the temperature the validation digits prefer (val FD: against them); device " + str(device))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
