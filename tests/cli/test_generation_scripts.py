"""sample.py, interpolate.py and evaluate.py on the checkpoint of a real 1-epoch default run (bundled digits),
and evaluate.py's digit measures on a tiny CNN-decoder run too."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gennet.data import MNIST5kDataModule
from tests.cli.entrypoint import TINY, assert_no_temporaries, run_script, run_train

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """``last.ckpt`` of ``python train.py trainer.max_epochs=1`` (the default generator, one full epoch)."""
    run_dir = tmp_path_factory.mktemp("one_epoch") / "run"
    result = run_train(["trainer.max_epochs=1", "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


def one_error_line(result) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Downloading")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_sample_writes_a_non_degenerate_grid_and_reuses_its_gaussian_model(checkpoint, tmp_path):
    result = run_script("sample", [f"ckpt_path={checkpoint}", "num_samples=64", "output=grid.png", "seed=0"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    grid = np.asarray(Image.open(tmp_path / "grid.png").convert("L"), dtype=np.float64)
    assert grid.shape == (8 * 66 + 2, 8 * 66 + 2)  # 8×8 images of 32² shown 2× (64²) with torchvision's 2-pixel padding
    assert grid.std() > 5  # pixel std > 5/255 of the range
    cells = [grid[2 + 66 * i : 66 * (i + 1), 2 + 66 * j : 66 * (j + 1)] for i in range(8) for j in range(8)]
    assert np.std([c.mean() for c in cells]) > 1  # the samples differ from one another
    gaussian = checkpoint.with_name("last.gaussian.pt")
    assert gaussian.is_file() and "saved to" in result.stderr
    again = run_script("sample", [f"ckpt_path={checkpoint}", "output=again.png", "seed=0"], tmp_path)
    assert again.returncode == 0 and "fitting" not in again.stderr  # the saved model is reused
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "grid.png").read_bytes()
    samples = torch.load(tmp_path / "grid.pt", weights_only=True)  # the images beside the PNG
    assert samples.shape == (64, 1, 32, 32) and samples.dtype == torch.float32
    assert samples.min() >= -1 and samples.max() <= 1 and samples.std() > 0.1
    assert_no_temporaries(tmp_path, checkpoint.parent)  # the grids, the tensors, the Gaussian model beside the checkpoint


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """``last.ckpt`` of a 2-step default generator run: enough to exercise the priors' plumbing."""
    run_dir = tmp_path_factory.mktemp("two_steps") / "run"
    result = run_train(["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "test=false",
                        "logger=csv", "callbacks.reconstruction_grids=null"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def prior_files(tiny_checkpoint, tmp_path_factory) -> dict[str, Path]:
    """``prior.pt`` of train_prior.py on a checkpoint: a small mixture, the multiscale prior, a tiny flow prior (conditioned on
    the low-pass) and a tiny flow on principal coordinates."""
    checkpoint = tiny_checkpoint
    root = tmp_path_factory.mktemp("priors")
    runs = {"mixture": ["prior=mixture", "prior.num_components=4", "prior.dim=16", "fit_images=400"],
            "multiscale": ["prior=multiscale", "fit_images=400"],
            "flow": ["prior=flow", "prior.width=16", "prior.depth=1", "prior.time_dim=16", "prior.steps=2", "fit_images=256",
                     "trainer.max_epochs=1", "trainer.limit_train_batches=2", "callbacks.sample_grids.num_samples=4"],
            "pca_flow": ["prior=pca_flow", "prior.dim=8", "prior.width=16", "prior.depth=1", "prior.time_dim=16", "prior.steps=2",
                         "fit_images=256", "trainer.max_epochs=1", "trainer.limit_train_batches=2",
                         "callbacks.sample_grids.num_samples=4"]}
    for name, args in runs.items():
        result = run_script("train_prior", [f"generator_ckpt={checkpoint}", "logger=csv", *args, f"hydra.run.dir={root / name}"], root)
        assert result.returncode == 0, result.stderr[-3000:]
    return {name: root / name / "prior.pt" for name in runs}


@pytest.mark.parametrize("prior", ["mixture", "flow", "pca_flow", "multiscale"])
def test_sample_with_a_trained_prior(tiny_checkpoint, prior_files, tmp_path, prior):
    checkpoint = tiny_checkpoint
    result = run_script("sample", [f"ckpt_path={checkpoint}", f"prior_file={prior_files[prior]}", "num_samples=16", "output=s.png"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{prior} prior" in result.stdout and (tmp_path / "s.png").is_file()
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (16, 1, 32, 32) and samples.dtype == torch.float32 and samples.abs().max() <= 1
    assert samples.flatten(1).std(0).mean() > 0.01  # the draws differ


def test_flow_samples_are_refined_by_the_prior_score_unless_asked_not_to(tiny_checkpoint, prior_files, tmp_path):
    base = [f"ckpt_path={tiny_checkpoint}", f"prior_file={prior_files['pca_flow']}", "num_samples=8", "seed=3"]
    refined = run_script("sample", [*base, "output=r.png"], tmp_path)
    plain = run_script("sample", [*base, "refine_steps=0", "output=p.png"], tmp_path)
    assert refined.returncode == 0 and plain.returncode == 0, refined.stderr[-3000:] + plain.stderr[-3000:]
    assert "refined by the prior's score" in refined.stdout and "refined by" not in plain.stdout
    r, p = (torch.load(tmp_path / f"{n}.pt", weights_only=True) for n in ("r", "p"))
    assert r.shape == p.shape and r.abs().max() <= 1 and 0 < (r - p).abs().mean() < 0.5  # moved, from the same draws
    line = one_error_line(run_script("sample", [*base, "refine_time=1", "output=b.png"], tmp_path))
    assert line.startswith("error: refine_time:")


def test_coarse_grain_and_interpolation_with_the_flow_prior(tiny_checkpoint, prior_files, tmp_path):
    checkpoint = tiny_checkpoint
    args = [f"ckpt_path={checkpoint}", f"prior_file={prior_files['flow']}", "condition=[0,7]", "samples_per_condition=3", "output=c.png"]
    result = run_script("sample", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert torch.load(tmp_path / "c.pt", weights_only=True).shape == (6, 1, 32, 32)
    strip = run_script("interpolate", [f"ckpt_path={checkpoint}", f"prior_file={prior_files['flow']}", "num_steps=5", "output=i.png"], tmp_path)
    assert strip.returncode == 0, strip.stderr[-3000:]
    assert "noise space" in strip.stdout and Image.open(tmp_path / "i.png").size == (5 * 66 + 2, 66 + 2)
    # the flow on principal coordinates: its noise space has d = 8 numbers; it cannot be conditioned
    strip = run_script("interpolate", [f"ckpt_path={checkpoint}", f"prior_file={prior_files['pca_flow']}", "num_steps=5",
                                       "output=p.png"], tmp_path)
    assert strip.returncode == 0, strip.stderr[-3000:]
    assert "noise space" in strip.stdout and Image.open(tmp_path / "p.png").size == (5 * 66 + 2, 66 + 2)
    line = one_error_line(run_script("sample", [f"ckpt_path={checkpoint}", f"prior_file={prior_files['pca_flow']}", "condition=2"],
                                     tmp_path))
    assert line.startswith("error: prior_file:") and "cannot be conditioned" in line
    # a mixture cannot be conditioned; a file that is no prior is named
    line = one_error_line(run_script("sample", [f"ckpt_path={checkpoint}", f"prior_file={prior_files['mixture']}", "condition=2"], tmp_path))
    assert line.startswith("error: prior_file:") and "cannot be conditioned" in line
    (tmp_path / "junk.pt").write_bytes(b"junk")
    line = one_error_line(run_script("sample", [f"ckpt_path={checkpoint}", f"prior_file={tmp_path / 'junk.pt'}"], tmp_path))
    assert line.startswith("error: prior_file:") and "junk.pt" in line


def test_interpolate_writes_a_strip_and_a_gif(checkpoint, tmp_path):
    result = run_script("interpolate", [f"ckpt_path={checkpoint}", "num_steps=8", "output=strip.png", "gif=true"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    strip = np.asarray(Image.open(tmp_path / "strip.png").convert("L"), dtype=np.float64)
    assert strip.shape[1] > 4 * strip.shape[0]  # one pair: one row of 8
    first, last = strip[2:66, 2:66], strip[2:66, -66:-2]  # 32² images shown as 64²
    assert np.abs(first - last).mean() > 5  # two different held-out digits at the ends
    gif = Image.open(tmp_path / "strip.gif")
    assert gif.n_frames == 14 and min(gif.size) >= 64  # 8 there, 6 back; legible frames
    noise = run_script("interpolate", [f"ckpt_path={checkpoint}", "from_noise=true", "num_pairs=3", "output=n.png"], tmp_path)
    assert noise.returncode == 0, noise.stderr[-3000:]
    assert Image.open(tmp_path / "n.png").size == (8 * 66 + 2, 3 * 66 + 2)
    assert_no_temporaries(tmp_path)


def test_evaluate_writes_json_and_table(checkpoint, tmp_path):
    args = [f"ckpt_path={checkpoint}", "output=eval/scattering", "max_images=200", "fid.feature=scattering"]
    result = run_script("evaluate", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "eval" / "scattering.json").read_text())
    for split in ("train", "test"):
        assert report[split]["images"] == 200 and report[split]["psnr"] > report[split]["psnr_lowpass"]
        assert 0 < report[split]["ssim"] <= 1 and 0 < report[split]["sparsity"] <= 1
        assert 0 < report[split]["nonzeros_per_pixel"] < 1 and 0 <= report[split]["duality_gap"] < 0.1
    assert report["fid"]["value"] > 0 and report["fid"]["num_samples"] == 200
    table = (tmp_path / "eval" / "scattering.md").read_text()
    assert "| test | 200 |" in table and "PSNR (dB)" in table and "nonzeros per pixel | duality gap" in table
    # the standard FID: computed when the Inception weights are cached locally, else skipped with the remedy
    inception = run_script("evaluate", [f"ckpt_path={checkpoint}", "output=inception", "max_images=64", "fid.feature=inception"], tmp_path)
    assert inception.returncode == 0, inception.stderr[-3000:]
    fid = json.loads((tmp_path / "inception.json").read_text())["fid"]
    assert fid["value"] is not None or ("skipped" in fid["status"] and "fid.weights_path" in fid["status"])
    assert_no_temporaries(tmp_path)


def test_coarse_grain_rows_share_the_test_images_lowpass(checkpoint, tmp_path):
    args = [f"ckpt_path={checkpoint}", "condition=[0,7]", "samples_per_condition=4", "output=coarse.png"]
    result = run_script("sample", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    grid = np.asarray(Image.open(tmp_path / "coarse.png").convert("L"), dtype=np.float64)
    assert grid.shape == (2 * 66 + 2, 6 * 66 + 2)  # 2 rows: test image, its low-pass image, 4 samples (64² each)
    datamodule = MNIST5kDataModule(seed=0)
    datamodule.setup()
    cells = [[grid[2 + 66 * i : 66 * (i + 1), 2 + 66 * j : 66 * (j + 1)] for j in range(6)] for i in range(2)]
    for row, index in zip(cells, (0, 7)):
        original = (datamodule.test_dataset[index][0][0].numpy() + 1) * 127.5
        assert np.abs(row[0][::2, ::2] - original).max() <= 1  # first: the test image itself
        assert min(np.abs(a - b).mean() for k, a in enumerate(row[2:]) for b in row[3 + k :]) > 1  # the samples differ
    # the decoded samples keep the coarse structure: their low-pass agrees with the condition's (unconditional
    # samples of such a checkpoint score ~17 dB against the same images, the reconstructions ~33 dB)
    samples, reconstructions = map(float, re.search(r"PSNR ([\d.]+) dB .*: ([\d.]+) dB", result.stdout).groups())
    assert samples > 25 and reconstructions > 25
    # bad input (the other cases: tests/cli/test_coarse_grain.py): one line naming the key and the value
    line = one_error_line(run_script("sample", [f"ckpt_path={checkpoint}", "condition=[0,500]", "output=bad.png"], tmp_path))
    assert line.startswith("error: condition:") and "500" in line and not (tmp_path / "bad.png").exists()


@pytest.fixture(scope="module")
def cnn_checkpoint(tmp_path_factory) -> Path:
    """``last.ckpt`` of a tiny ``python train.py model=cnn_generator`` run (2 training batches)."""
    run_dir = tmp_path_factory.mktemp("cnn") / "run"
    result = run_train(["model=cnn_generator", *TINY, "logger=csv"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


@pytest.mark.parametrize("decoder", ["sparse", "cnn"])
def test_evaluate_reports_digit_sample_quality_by_default(decoder, checkpoint, cnn_checkpoint, tmp_path):
    ckpt = checkpoint if decoder == "sparse" else cnn_checkpoint
    args = [f"ckpt_path={ckpt}", "output=digits", "max_images=200", "temperature=0.75"]
    args += ["fit_images=500"] if decoder == "cnn" else []  # the sparse checkpoint's Gaussian model is test_sample's
    result = run_script("evaluate", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "digits.json").read_text())
    fid, pr = report["fid"], report["precision_recall"]
    assert fid["feature"] == pr["feature"] == "digits" and fid["num_samples"] == fid["num_real"] == 200
    assert fid["temperature"] == 0.75 and pr["k"] == 3
    # a briefly trained decoder is far from real digits; real against real is the floor
    assert fid["value"] > 3 * fid["real_vs_real"] > 0
    assert 0 <= pr["precision"] < pr["real_vs_real"]["precision"] and 0 <= pr["recall"] <= 1
    assert "digit classifier" in fid["status"] and "caution" not in fid["status"]  # seed 0: split as the classifier's
    table = (tmp_path / "digits.md").read_text()
    assert "Fréchet distance (digits features" in table and "Precision / recall" in table


class Payload:
    """A pickle that would create a file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_explain_draws_the_terms_of_one_code(checkpoint, cnn_checkpoint, tmp_path):
    result = run_script("explain", [f"ckpt_path={checkpoint}", "index=3", "top_k=8", "output=explain.png"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    image = Image.open(tmp_path / "explain.png")
    assert image.size[0] >= 8 * 64 and image.size[1] >= 2 * 64  # a row of partial reconstructions, a row of 8 terms
    psnr = [float(v) for v in re.findall(r"terms ([\d.]+) dB", result.stdout)]
    terms = int(re.search(r"(\d+) nonzero code coefficients", result.stdout).group(1))
    assert terms > 0 and len(psnr) >= 3 and psnr[-1] > psnr[0] + 3  # the code's terms add what the low-pass part lacks
    whole = float(re.search(r"G\(Φ\(x\)\) ([\d.]+) dB", result.stdout).group(1))
    assert abs(whole - psnr[-1]) < 0.006  # all the terms: the reconstruction itself (both printed to 0.01 dB)
    line = one_error_line(run_script("explain", [f"ckpt_path={checkpoint}", "index=500", "output=other.png"], tmp_path))
    assert line.startswith("error: index:") and "500" in line
    line = one_error_line(run_script("explain", [f"ckpt_path={cnn_checkpoint}", "output=cnn.png"], tmp_path))
    assert line.startswith("error: ckpt_path:") and "CNN" in line
    assert_no_temporaries(tmp_path)


@pytest.mark.parametrize("script", ["sample", "interpolate", "evaluate", "explain"])
def test_a_malicious_pickle_is_refused_without_running_it(script, tmp_path):
    marker = tmp_path / "payload_ran"
    bad = tmp_path / "evil.ckpt"
    bad.write_bytes(pickle.dumps({"state_dict": Payload(marker), "hyper_parameters": {}}))
    line = one_error_line(run_script(script, [f"ckpt_path={bad}"], tmp_path))
    assert line.startswith("error: ckpt_path:") and "not a plain checkpoint" in line and str(bad) in line
    assert not marker.exists()


def test_missing_and_foreign_checkpoints_are_named(tmp_path):
    line = one_error_line(run_script("sample", [f"ckpt_path={tmp_path / 'none.ckpt'}"], tmp_path))
    assert line.startswith("error: ckpt_path:") and "none.ckpt" in line
    (tmp_path / "text.ckpt").write_text("not a checkpoint")
    line = one_error_line(run_script("sample", [f"ckpt_path={tmp_path / 'text.ckpt'}"], tmp_path))
    assert line.startswith("error: ckpt_path:") and "text.ckpt" in line
