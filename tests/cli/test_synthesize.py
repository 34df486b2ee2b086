"""``python synthesize.py``: texture synthesis from one real image end to end (tiny sizes and budgets), and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.cli.entrypoint import assert_no_temporaries, run_script

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points

TINY = ["synthesis.n_iter=40", "statistics.J=3", "threads=1"]


def one_error_line(result, key: str) -> str:
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}: "), result.stderr
    return lines[0]


def test_grayscale_texture_end_to_end_with_wandb(tmp_path):
    result = run_script("synthesize", ["image=skimage:brick", "size=64", "num_samples=2", "output=out", *TINY], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    report = json.loads((out / "metrics.json").read_text())
    methods = {row["method"]: row for row in report["methods"]}
    assert set(methods) == {"gaussian", "joint"}  # the default model: phase harmonics and scattering spectra together
    ours = methods["joint"]
    assert ours["loss_reduction"] > 10 and ours["iterations"] <= 40 and ours["M"] == sum(ours["statistics"].values())
    assert {key.split("/")[0] for key in ours["statistics"]} == {"phase_harmonic", "scattering_spectra"}
    for row in methods.values():
        for key in ("spectrum_error", "histogram_w1", "scattering_error", "ps_error", "structure_error", "copy_check_max",
                    "minkowski_error", "circularity_median"):
            assert np.isfinite(row[key]), (row["method"], key)
    assert methods["gaussian"]["spectrum_error"] < 1e-6  # the random-phase baseline keeps the periodogram
    assert ours["scattering_error"] < methods["gaussian"]["scattering_error"]
    # the samples are projected onto the histogram (W1 = 0), the W1 before the projection is measured apart
    assert ours["histogram_w1"] < 1e-6 < ours["histogram_w1_before_projection"] < methods["gaussian"]["histogram_w1"]
    assert "| joint |" in (out / "metrics.md").read_text()
    samples = torch.load(out / "samples.pt")
    assert samples["joint"].shape == samples["gaussian"].shape == (2, 1, 64, 64)
    assert (samples["joint"][0] - samples["joint"][1]).abs().mean() > 0.01  # two different samples
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == [
        "gaussian_000.png", "gaussian_001.png", "joint_000.png", "joint_001.png", "original.png",
    ]
    # the PNGs are at the input's grey levels (not stretched): original.png is the 8-bit crop itself
    from skimage import data

    crop = data.brick()[224:288, 224:288]
    assert np.array_equal(np.asarray(Image.open(out / "samples" / "original.png")), crop)
    assert Image.open(out / "minkowski.png").width >= 1000
    panel = Image.open(out / "panel.png")
    assert panel.width >= 900 and panel.height >= 500  # 2 rows × 3 images, each ≥ 300 px
    assert np.asarray(panel.convert("L")).std() > 10
    assert Image.open(out / "spectra.png").width >= 1000
    assert list((out / "wandb").glob("offline-run-*/run-*.wandb"))  # the offline run was written
    assert_no_temporaries(out)

    again = run_script("synthesize", ["image=skimage:brick", "size=64", "output=out", "logger=none", *TINY], tmp_path)
    one_error_line(again, "output")  # an earlier synthesis is never overwritten
    assert json.loads((out / "metrics.json").read_text()) == report


def test_colour_non_square_crop_from_a_file(tmp_path):
    from skimage import data

    Image.fromarray(data.coffee()).save(tmp_path / "coffee.png")  # RGB 400×600
    args = ["image=coffee.png", "size=[64,48]", "num_samples=1", "output=rgb", "logger=none", "synthesis.histogram_levels=4", *TINY]
    result = run_script("synthesize", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    samples = torch.load(tmp_path / "rgb" / "samples.pt")
    assert samples["original"].shape == samples["joint"].shape[1:] == (3, 64, 48)
    assert Image.open(tmp_path / "rgb" / "samples" / "joint_000.png").mode == "RGB"
    # the Gaussian baseline keeps every channel's spectrum and the cross-spectra of the colours
    original = torch.fft.fft2(samples["original"].double() - samples["original"].double().mean(dim=(-2, -1), keepdim=True))
    gaussian = torch.fft.fft2(samples["gaussian"][0].double() - samples["gaussian"][0].double().mean(dim=(-2, -1), keepdim=True))
    cross = lambda f: f[:, None] * f[None].conj()  # noqa: E731
    assert torch.allclose(cross(gaussian), cross(original), atol=1e-3 * float(cross(original).abs().max()))


def test_scattering_spectra_estimated_over_several_crops_and_images(tmp_path):
    """``image=[…]`` and ``crops``: the statistics of every crop are averaged (here 2 images × 2 crops); the metrics and
    panels compare with the first crop."""
    args = ["image=[skimage:grass,skimage:gravel]", "crops=2", "model=scattering_spectra", "size=32", "num_samples=1",
            "output=s", "logger=none", "synthesis.n_iter=10", "statistics.J=3", "threads=1"]
    result = run_script("synthesize", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 crop(s) 32×32" in result.stdout
    report = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert [row["method"] for row in report["methods"]] == ["gaussian", "scattering_spectra"]
    samples = torch.load(tmp_path / "s" / "samples.pt")
    assert samples["original"].shape == (1, 32, 32) and samples["scattering_spectra"].shape == (1, 1, 32, 32)


def test_gaussian_model_only(tmp_path):
    result = run_script("synthesize", ["image=skimage:gravel", "model=gaussian", "size=32", "num_samples=3", "output=g", "logger=none"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "g" / "metrics.json").read_text())
    assert [row["method"] for row in report["methods"]] == ["gaussian"]


@pytest.mark.parametrize(
    "args, key, fragment",
    [
        (["image=missing.png"], "image", "no such file"),
        (["image=notes.png"], "image", "cannot read"),
        (["image=skimage:brick", "size=1024"], "size", "smaller than the crop"),
        (["image=skimage:brick", "size=60"], "size", "multiples of 2**J"),
        (["image=skimage:brick", "model=glow"], "model", "joint, scattering_spectra, phase_harmonic, gaussian"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, key, fragment):
    (tmp_path / "notes.png").write_text("not an image\n")
    result = run_script("synthesize", [*args, "output=out", "logger=none"], tmp_path)
    assert fragment in one_error_line(result, key)
    assert not (tmp_path / "out").exists()


def test_missing_image_key(tmp_path: Path):
    one_error_line(run_script("synthesize", ["logger=none"], tmp_path), "image")


def test_bad_keys_name_the_key():
    """The same checks in process (the entry point runs them before any work): keys, images, crops."""
    from hydra import compose, initialize_config_dir

    from gennet.cli.images import center_crop, load_image
    from gennet.cli.stationary_models import build_statistics
    from gennet.cli.synthesize import CONFIG_DIR, _validate
    from gennet.errors import ConfigError

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for overrides, key in [
            (["num_samples=0"], "num_samples"),
            (["size=[64]"], "size"),
            (["synthesis.init=zeros"], "synthesis.init"),
            (["synthesis.plateau=1.5"], "synthesis.plateau"),
            (["synthesis.histogram_levels=-1"], "synthesis.histogram_levels"),
            (["synthesis.histogram_weight=0"], "synthesis.histogram_weight"),
            (["synthesis.histogram_weight=inf"], "synthesis.histogram_weight"),
            (["logger=tensorboard"], "logger"),
            (["crops=0"], "crops"),
        ]:
            with pytest.raises(ConfigError) as error:
                _validate(compose(config_name="synthesize", overrides=["image=skimage:brick", *overrides]))
            assert error.value.key == key
        for overrides, key, fragment in [
            (["statistics.A=5"], "statistics.A", "even"),
            (["spectra.reduction=scale"], "spectra.reduction", "rotation"),
            (["spectra.L=1"], "spectra.L", ">= 2"),
            (["joint.weights.scattering_spectra=0"], "joint.weights.scattering_spectra", "> 0"),
            (["model=scattering_spectra", "spectra.J=7"], "size", "2\\*\\*J"),
        ]:
            cfg = compose(config_name="synthesize", overrides=["image=skimage:brick", *overrides])
            with pytest.raises(ConfigError, match=fragment) as error:
                build_statistics(cfg, (64, 64), 1)
            assert error.value.key == key
    with pytest.raises(ConfigError, match="unknown scikit-image image"):
        load_image("skimage:no_such_picture")
    with pytest.raises(ConfigError, match="unknown scikit-image image"):
        load_image("skimage:__name__")
    with pytest.raises(ConfigError, match="smaller than the crop"):
        center_crop(np.zeros((10, 20, 1), dtype=np.float32), (16, 16))
    gray = load_image("skimage:astronaut", grayscale=True)
    assert gray.shape == (512, 512, 1) and gray.dtype == np.float32 and 0 <= gray.min() < gray.max() <= 1
