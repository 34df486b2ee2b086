"""Every row of issue 16's GPU table in one process: gennet against its reference on the same device.

Rows (``--only`` takes any of the names in brackets):

- [scattering] ``Scattering2D`` forward against kymatio 0.3.0 at 128×3×256² J=3 and J=4, and 32×3×512² J=5
  (L=8, float32; also the relative ℓ2 difference of the outputs, and the CPU-designed path for comparison);
- [generator] one training step of the ``+experiment=celeba`` generator (64² RGB, J=3, K=256, ADMM N=32), built
  from the real config (Hydra compose, as ``train.py`` does), against the CNN decoder of the same config
  (``model=cnn_generator``), at batch 128, in float32 and in bf16 autocast; the relative duality gap of the sparse
  step's Lasso is printed beside it (acceptance: unchanged ± 10%);
- [hybrid] one training step (SGD, cross-entropy, bf16 autocast) of Scat + ResNet-10 (``HybridScatteringNet``,
  224² RGB, 1000 classes, batch 128) against torchvision's ResNet-18;
- [synthesis] texture synthesis of scikit-image's brick (256² crop, up to 300 L-BFGS iterations): ours
  (:func:`gennet.stationary.synthesize`) against pywph and plenoptic's Portilla–Simoncelli, with the runners of
  ``benchmarks/bench_synthesis.py``.

One training step = encode, decode, loss, backward, optimizer step (and the atom renormalization of the sparse
generator) — ``GeneratorModule.training_step`` without its logging. Times are the median of ``--reps`` runs after
``--warmup`` runs, with ``torch.cuda.synchronize`` and CUDA events on a GPU; ``peak MB`` is
``torch.cuda.max_memory_allocated`` during the timed runs minus the memory allocated before them (``-`` on CPU).
On a GPU, ``torch.set_float32_matmul_precision('high')`` (TF32 matmuls; what Lightning recommends there).
Each row runs in its own ``try``: a failing row prints its error and the others still run. ``--profile`` prints the
top kernels of one run of each row (torch.profiler). ``--quick`` shrinks every size so that the whole script can be
dry-run on a CPU: ``python benchmarks/bench_gpu.py --device cpu --quick``.

    python benchmarks/bench_gpu.py                       # all rows on cuda (≤ 5 minutes on one H200)
    python benchmarks/bench_gpu.py --only scattering hybrid --profile
"""

from __future__ import annotations

import argparse
import math
import os
import statistics as stats_module
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # plenoptic's progress bars

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install
sys.path.insert(0, str(REPO / "benchmarks"))

ROWS = ("scattering", "generator", "hybrid", "synthesis")


def say(*parts) -> None:
    print(*parts, flush=True)


# ---------------------------------------------------------------------------------------------------- timing
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, warmup: int, reps: int) -> tuple[float, float | None, object]:
    """``(median seconds, peak MB or None, last result)`` of ``fn()`` over ``reps`` runs after ``warmup`` runs."""
    result = None
    for _ in range(warmup):
        result = fn()
    _sync(device)
    peak = None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            result = fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            start_time = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start_time)
    if device.type == "cuda":
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    return stats_module.median(times), peak, result


def profile(name: str, fn, device: torch.device, rows: int = 12) -> None:
    """Print the top operators/kernels of one run of ``fn`` (torch.profiler; by device time on a GPU)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    fn()
    _sync(device)
    with torch_profile(activities=activities) as prof:
        fn()
        _sync(device)
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    say(f"--- profile: {name} (top {rows} by {key})")
    say(prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=60))


def _mb(peak: float | None) -> str:
    return "-" if peak is None else f"{peak:,.0f}"


# ---------------------------------------------------------------------------------------------------- workloads
def scattering_forward(B: int, C: int, size: int, J: int, device: torch.device, path: str = "auto", L: int = 8):
    """``(fn, x, module)``: a no-grad forward of gennet's Scattering2D on uniform noise in [−1, 1]."""
    from gennet.transforms.scattering import Scattering2D

    x = (torch.rand(B, C, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1).to(device)
    module = Scattering2D(J, (size, size), L=L, path=path).to(device)

    def fn():
        with torch.no_grad():
            return module(x)

    return fn, x, module


def generator_module(architecture: str = "sparse", image_size: int = 64, channels: int = 3, overrides: tuple[str, ...] = ()):
    """The ``GeneratorModule`` that ``python train.py +experiment=celeba [model=cnn_generator]`` builds (Hydra compose
    of ``gennet/conf/train.yaml``; ``image_size`` and ``channels`` as the CelebA data module gives them)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from gennet.cli.resolvers import register_resolvers

    register_resolvers()
    extra = ["model=cnn_generator"] if architecture == "cnn" else []
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "gennet" / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["+experiment=celeba", *extra, *overrides])
    return instantiate(cfg.model, _convert_="all", image_size=image_size, channels=channels)


def faces(batch: int, size: int, channels: int = 3) -> torch.Tensor:
    """``batch`` real faces in [−1, 1] (scikit-image's LFW subset, resized, tiled to the batch)."""
    from bench_train import real_images

    return real_images(batch, channels, size)


def generator_step(architecture: str, batch: int, device: torch.device, bf16: bool = False, image_size: int = 64,
                   overrides: tuple[str, ...] = ()):
    """``(step, module)``: one training step of the celeba-config generator; ``step()`` returns the code statistics
    (``None`` for the CNN decoder). The sparse dictionary starts from data patches (``atom_init: data``), the CNN's
    whitening from the batch's statistics — as ``GeneratorModule.on_fit_start`` does."""
    from gennet.lit.optimization import make_optimizer
    from gennet.models.generator import SparseInverseGenerator

    module = generator_module(architecture, image_size=image_size, overrides=overrides).to(device)
    generator, hp = module.generator, module.hparams
    x = faces(batch, image_size).to(device)
    with torch.no_grad():
        if isinstance(generator, SparseInverseGenerator):
            generator.dictionary.init_from_coefficients_(generator.rectified(x), torch.Generator().manual_seed(0))
        elif generator.whitening is not None:
            generator.whitening.reset_()
            generator.whitening.update_(generator.encode(x))
    optimizer = make_optimizer(hp.optimizer, module.parameters(), device, lr=hp.lr, weight_decay=hp.weight_decay)  # as training builds it
    sparse = isinstance(generator, SparseInverseGenerator)

    def step():
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            x_hat, code_stats = generator.decode(generator.encode(x), return_stats=True)
            loss = module._loss(x_hat, x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if sparse:
            generator.normalize_atoms_()
        return code_stats

    return step, module


def classifier_step(network: torch.nn.Module, batch: int, size: int, classes: int, device: torch.device, bf16: bool = True,
                    channels_last: bool = False):
    """One SGD training step (momentum 0.9, weight decay 1e-4, cross-entropy) of ``network`` on random images."""
    network = network.to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    network = network.to(memory_format=memory_format)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, size, size, generator=generator).to(device).contiguous(memory_format=memory_format)
    y = torch.randint(0, classes, (batch,), generator=generator).to(device)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    network.train()

    def step():
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(network(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    return step


def hybrid_network(size: int = 224, classes: int = 1000):
    """Scat + ResNet-10 as ``gennet/conf/model/hybrid_scatnet.yaml`` describes it (J=3, L=8, order 2, widths 256/512)."""
    from gennet.models import HybridScatteringNet

    return HybridScatteringNet((size, size), 3, classes, J=3, L=8, max_order=2, widths=(256, 512), blocks=(2, 2))


def texture_loss_and_gradient(size: int = 256, J: int = 5, device: torch.device = torch.device("cpu")):
    """``fn``: one loss+gradient of the texture statistics (``PhaseHarmonicCovariance2D((size, size), J)``) at a
    Gaussian-model sample of scikit-image's brick (central ``size²`` crop), with the loss of
    :func:`gennet.stationary.synthesize`."""
    from bench_synthesis import crop

    from gennet.stationary import PhaseHarmonicCovariance2D, gaussian_samples

    target = crop("brick", size).to(device)
    standard = (target - target.mean()) / target.std()
    statistics = PhaseHarmonicCovariance2D((size, size), J=J).to(device)
    with torch.no_grad():
        goal = statistics(standard)[0]
        scale = statistics.scale(standard, raw=goal)
    x = gaussian_samples(standard[0].cpu(), 1, generator=torch.Generator().manual_seed(0)).to(device).requires_grad_(True)

    def fn():
        x.grad = None
        loss = ((statistics(x) - goal) / scale).square().mean(dim=1).sum()
        loss.backward()
        return loss

    return fn


# ---------------------------------------------------------------------------------------------------- rows
def row_scattering(args, device) -> None:
    from kymatio.scattering2d.frontend.torch_frontend import ScatteringTorch2D

    cases = [(1, 1, 32, 3), (1, 1, 32, 4), (1, 1, 64, 5)] if args.quick else [(128, 3, 256, 3), (128, 3, 256, 4), (32, 3, 512, 5)]
    for B, C, size, J in cases:
        name = f"Scattering2D {B}×{C}×{size}², J={J}, L=8"
        try:
            ours, x, module = scattering_forward(B, C, size, J, device)
            t_ours, m_ours, out = timed(ours, device, args.warmup, args.reps)
            cpu_path, _, _ = scattering_forward(B, C, size, J, device, path="cpu")
            t_cpu, m_cpu, _ = timed(cpu_path, device, 1, max(1, args.reps // 2))
            kymatio = ScatteringTorch2D(J, (size, size), L=8).to(device)

            def reference():
                with torch.no_grad():
                    return kymatio(x)

            t_ref, m_ref, ref = timed(reference, device, args.warmup, args.reps)
            error = ((out - ref).norm() / ref.norm()).item()
            say(f"| {name} (fp32) | {t_ours * 1e3:.1f} ms (path {module.resolved_path(x)}; peak {_mb(m_ours)} MB) | "
                f"kymatio {t_ref * 1e3:.1f} ms (peak {_mb(m_ref)} MB) | {t_ref / t_ours:.2f}× | "
                f"CPU-designed path {t_cpu * 1e3:.1f} ms; rel. difference to kymatio {error:.1e} |")
            if args.profile:
                profile(name, ours, device)
            del out, ref, kymatio, module
        except Exception:  # noqa: BLE001 — one failing row must not stop the others
            say(f"| {name} | FAILED | | | {traceback.format_exc().strip().splitlines()[-1]} |")
            traceback.print_exc()


def row_generator(args, device) -> None:
    batch, size = (2, 32) if args.quick else (128, 64)
    overrides = ("model.num_atoms=16", "model.n_layers=4") if args.quick else ()
    for bf16 in (True, False):
        precision = "bf16 autocast" if bf16 else "fp32"
        model = "K=16, ADMM N=4: quick" if args.quick else "K=256, ADMM N=32"
        name = f"generator training step, +experiment=celeba ({size}² RGB, J=3, {model}), batch {batch}, {precision}"
        try:
            results = {}
            for architecture in ("sparse", "cnn"):
                step, module = generator_step(architecture, batch, device, bf16=bf16, image_size=size, overrides=overrides)
                seconds, peak, code_stats = timed(step, device, args.warmup, args.reps)
                results[architecture] = (batch / seconds, peak, code_stats)
                if args.profile:
                    profile(f"{name}: {architecture}", step, device)
                del step, module
            sparse, cnn = results["sparse"], results["cnn"]
            gap = float(torch.as_tensor(sparse[2].duality_gap).float().mean()) if sparse[2] is not None else math.nan
            say(f"| {name} | {sparse[0]:,.0f} images/s (peak {_mb(sparse[1])} MB) | CNN decoder {cnn[0]:,.0f} images/s "
                f"(peak {_mb(cnn[1])} MB) | {sparse[0] / cnn[0]:.2f}× | duality gap {gap:.4f} |")
        except Exception:  # noqa: BLE001
            say(f"| {name} | FAILED | | | {traceback.format_exc().strip().splitlines()[-1]} |")
            traceback.print_exc()


def row_hybrid(args, device) -> None:
    import torchvision

    batch, size, classes = (2, 32, 10) if args.quick else (128, 224, 1000)
    memory = ", channels_last" if args.channels_last else ""
    name = f"hybrid Scat+ResNet-10 training step, {size}² RGB, {classes} classes, batch {batch}, bf16{memory}"
    try:
        results = {}
        for label, build in (("hybrid", lambda: hybrid_network(size, classes)),
                             ("resnet18", lambda: torchvision.models.resnet18(num_classes=classes))):
            step = classifier_step(build(), batch, size, classes, device, bf16=True, channels_last=args.channels_last)
            seconds, peak, _ = timed(step, device, args.warmup, args.reps)
            results[label] = (batch / seconds, peak)
            if args.profile:
                profile(f"{name}: {label}", step, device)
            del step
        (ours, m_ours), (ref, m_ref) = results["hybrid"], results["resnet18"]
        say(f"| {name} | {ours:,.0f} images/s (peak {_mb(m_ours)} MB) | torchvision ResNet-18 {ref:,.0f} images/s "
            f"(peak {_mb(m_ref)} MB) | {ours / ref:.2f}× | |")
    except Exception:  # noqa: BLE001
        say(f"| {name} | FAILED | | | {traceback.format_exc().strip().splitlines()[-1]} |")
        traceback.print_exc()


def row_synthesis(args, device) -> None:
    import bench_synthesis

    size, iters = (32, 2) if args.quick else (256, 300)
    # pywph wants a device index: plain "cuda" means the current device.
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    options = argparse.Namespace(size=size, samples=1, iters=iters, J=max(int(math.log2(size)) - 3, 2), ps_iters=iters,
                                 pywph_iters=iters, pywph_size=size, init="gaussian", seed=0)
    target = bench_synthesis.crop("brick", size)
    cells = []
    for method, runner in (("ours", bench_synthesis.run_ours), ("pywph", bench_synthesis.run_pywph),
                           ("Portilla–Simoncelli (plenoptic)", bench_synthesis.run_portilla_simoncelli)):
        try:
            row = runner(target, options, device)[1]
            per_eval = row.get("seconds_per_evaluation")
            cells.append(f"{method} {row['seconds_per_sample']:.1f} s ({row.get('iterations', '?')} it, "
                         f"{'-' if per_eval is None else f'{per_eval:.3f}'} s per loss+gradient, loss ÷{row.get('loss_reduction', math.nan):.3g}, "
                         f"peak {row['peak_memory_mb']:,.0f} MB)")
        except Exception:  # noqa: BLE001
            cells.append(f"{method} FAILED ({traceback.format_exc().strip().splitlines()[-1]})")
            traceback.print_exc()
    say(f"| texture synthesis, brick {size}², ≤ {iters} L-BFGS iterations | {cells[0]} | {cells[1]}; {cells[2]} | | |")
    if args.profile:
        try:
            profile("texture statistics: one loss+gradient", texture_loss_and_gradient(size, options.J, device), device)
        except Exception:  # noqa: BLE001
            traceback.print_exc()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", nargs="+", choices=ROWS, default=list(ROWS), metavar="ROW", help=f"rows to run, of {ROWS}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a dry run, e.g. on a CPU)")
    parser.add_argument("--profile", action="store_true", help="print the top kernels of each row (torch.profiler)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs per measurement (default 3; 1 with --quick)")
    parser.add_argument("--reps", type=int, default=None, help="timed runs, median reported (default 5; 1 with --quick)")
    parser.add_argument("--channels-last", action="store_true", help="hybrid row: models and images in channels_last")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    args.reps = args.reps if args.reps is not None else (1 if args.quick else 5)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU, {torch.get_num_threads()} threads"
    say(f"torch {torch.__version__}, device {device} ({name}), median of {args.reps} after {args.warmup} warm-up"
        f"{', QUICK sizes' if args.quick else ''}\n")
    say("| work | gennet | reference | ratio | notes |")
    say("|---|---|---|---|---|")
    start = time.perf_counter()
    runners = {"scattering": row_scattering, "generator": row_generator, "hybrid": row_hybrid, "synthesis": row_synthesis}
    for row in args.only:
        row_start = time.perf_counter()
        runners[row](args, device)
        print(f"[{row}: {time.perf_counter() - row_start:.0f} s]", file=sys.stderr, flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    say(f"\ntotal {time.perf_counter() - start:.0f} s" + ("; wandb was imported (should not be)" if "wandb" in sys.modules else ""))


if __name__ == "__main__":
    main()
