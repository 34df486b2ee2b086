"""``python explain.py ckpt_path=CKPT index=0 [split=test] [top_k=16] [output=explain.png]`` / ``gennet-explain``.

One image explained by its sparse code (:func:`gennet.models.explanation.explain_code`): the ``top_k`` most
energetic terms ``z_k[n]·U⁻¹(0, D e_{k,n})`` — atom ``k`` drawn in image space at its coarse position
``n`` with its weight — and the partial reconstructions from the low-pass part plus the 1, 2, 4, 8, …
largest terms, with their PSNR (dB, images in [−1, 1]). Writes one PNG (and logs it to wandb with
``wandb=true``, offline unless ``WANDB_API_KEY`` is set). Keys: ``gennet/conf/explain.yaml``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from omegaconf import DictConfig

from ..errors import ConfigError, check_int
from ..files import atomic_path
from ..models.explanation import CodeExplanation, explain_code
from ..models.generator import SparseInverseGenerator
from .errors import user_errors
from .generation import datamodule_for, device_for, load_generator
from .startup import check_bool, check_output_file, entry_point

__all__ = ["main", "explain", "explanation_figure"]

_SPLITS = ("train", "val", "test")


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float((a.clamp(-1, 1) - b).pow(2).mean())
    return 10 * math.log10(4.0 / mse) if mse > 0 else math.inf


def _counts(total: int) -> list[int]:
    """0, 1, 2, 4, 8, … up to ``total`` (the whole code last)."""
    counts, m = [0], 1
    while m < total:
        counts.append(m)
        m *= 2
    return counts + [total]


def explanation_figure(e: CodeExplanation, top_k: int, title: str):
    """A matplotlib figure: partial reconstructions (top row) and the ``top_k`` largest terms (grid below)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def show(ax, image: torch.Tensor, label: str, signed: bool = False) -> None:
        image = image.detach().float().cpu()
        picture = image[0] if image.shape[0] == 1 else ((image.permute(1, 2, 0) + 1) / 2).clamp(0, 1)
        if signed:  # a term: its own symmetric range, 0 = grey
            scale = float(image.abs().max()) or 1.0
            ax.imshow(picture if image.shape[0] == 1 else (image.permute(1, 2, 0) / (2 * scale) + 0.5).clamp(0, 1),
                      cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        else:
            ax.imshow(picture, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(label, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])

    counts = _counts(len(e.weights))
    shown = min(top_k, len(e.weights))
    columns = max(len(counts) + 1, 8)
    term_rows = math.ceil(shown / columns)
    fig, axes = plt.subplots(1 + term_rows, columns, figsize=(1.7 * columns, 2.3 * (1 + term_rows)), dpi=100, squeeze=False,
                             layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    show(axes[0, 0], e.image, "image x")
    axes[0, 0].axis("on")
    for j, m in enumerate(counts, start=1):
        label = "low-pass part" if m == 0 else (f"all {m} terms" if m == len(e.weights) else f"{m} largest")
        show(axes[0, j], e.partial(m), f"{label}\n{_psnr(e.partial(m), e.image):.1f} dB")
        axes[0, j].axis("on")
    total = float(e.energy.sum()) or 1.0
    for i in range(shown):
        ax = axes[1 + i // columns, i % columns]
        ax.axis("on")
        label = f"#{i + 1} atom {int(e.atoms[i])} @({int(e.rows[i])},{int(e.cols[i])})\nz={float(e.weights[i]):.3g} {100 * float(e.energy[i]) / total:.0f}%"
        show(ax, e.terms[i], label, signed=True)
    fig.suptitle(title, fontsize=10)
    return fig


def explain(cfg: DictConfig) -> CodeExplanation:
    """Write the explanation PNG of image ``cfg.index`` of split ``cfg.split``; returns the explanation.

    ``output`` is checked before any work: an existing file (an earlier result) or a directory is refused, a
    name without a suffix gets ``.png``; the figure is written through a temporary file and a rename.
    """
    with user_errors():
        if cfg.split not in _SPLITS:
            raise ConfigError("split", f"must be one of {', '.join(_SPLITS)}, got {cfg.split!r}")
        top_k = check_int("top_k", cfg.top_k, 1)
        output = check_output_file("output", cfg.output, ".png", (".png", ".pdf", ".svg", ".jpg", ".jpeg"))
        use_wandb = check_bool("wandb", cfg.wandb)
        device = device_for(cfg.device)
        module, checkpoint = load_generator(cfg.ckpt_path, device)
        if not isinstance(module.generator, SparseInverseGenerator):
            raise ConfigError("ckpt_path", f"'{cfg.ckpt_path}' is a CNN decoder: it has no sparse code to explain (model=generator has)")
        datamodule = datamodule_for(checkpoint, cfg.get("data"), cfg.ckpt_path)
        datamodule.setup("test" if cfg.split == "test" else "fit")
        dataset = getattr(datamodule, f"{cfg.split}_dataset")
        index = check_int("index", cfg.index, 0, len(dataset) - 1, why=f" (the {cfg.split} split has {len(dataset)} images)")
    x = dataset[index][0].to(device)
    e = explain_code(module.generator, x)
    title = (f"{cfg.split} image {index}: {len(e.weights)} nonzero code coefficients "
             f"({len(e.weights) / x.numel():.2f} per pixel), G(Φ(x)) {_psnr(e.reconstruction, x):.1f} dB")
    fig = explanation_figure(e, top_k, title)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as temporary:
        fig.savefig(temporary)
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(title)
    print("partial reconstructions: " + ", ".join(f"{m} terms {_psnr(e.partial(m), x):.2f} dB" for m in _counts(len(e.weights))))
    print(f"written: {output.resolve()}")
    if use_wandb:
        import wandb

        offline = not os.environ.get("WANDB_API_KEY")
        run = wandb.init(project="gennet", job_type="explain", dir=str(output.parent), mode="offline" if offline else "online",
                         config={"ckpt_path": str(cfg.ckpt_path), "split": cfg.split, "index": index})
        run.log({"explain": wandb.Image(str(output), caption=title)})
        run.finish()
    return e


@entry_point("explain")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-explain`` and ``python explain.py``)."""
    explain(cfg)


if __name__ == "__main__":
    main()
