"""``python explain.py ckpt_path=CKPT index=0 [split=test] [top_k=16] [output=explain.png]`` / ``gennet-explain``.

One image explained by its sparse code (:func:`gennet.models.explanation.explain_code`, drawn by
:func:`gennet.figures.code_explanation.explanation_figure`): the ``top_k`` most energetic terms
``z_k[n]·U⁻¹(0, D e_{k,n})`` — atom ``k`` drawn in image space at its coarse position ``n`` with its weight — and the partial reconstructions from the low-pass part plus the 1, 2, 4, 8, …
largest terms, with their PSNR (dB, images in [−1, 1]). Writes one PNG (and logs it to wandb with
``wandb=true``, offline unless ``WANDB_API_KEY`` is set). Keys: ``gennet/conf/explain.yaml``.
"""

from __future__ import annotations

import os

from omegaconf import DictConfig

from ..errors import ConfigError, check_bool, check_int
from ..figures.code_explanation import explanation_figure, partial_counts
from ..files import save_figure_atomic
from ..metrics.psnr import psnr
from ..models.explanation import CodeExplanation, explain_code
from ..models.generator import SparseInverseGenerator
from .devices import device_for
from .errors import user_errors
from .generation import datamodule_for, load_generator
from .startup import check_output_file, entry_point, writing

__all__ = ["main", "explain"]

_SPLITS = ("train", "val", "test")


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
             f"({len(e.weights) / x.numel():.2f} per pixel), G(Φ(x)) {psnr(e.reconstruction, x):.2f} dB")
    fig = explanation_figure(e, top_k, title)
    with writing("output", folders=[output.parent]):  # a full disk: one line
        save_figure_atomic(fig, output)
    print(title)
    print("partial reconstructions: " + ", ".join(f"{m} terms {psnr(e.partial(m), x):.2f} dB" for m in partial_counts(len(e.weights))))
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
