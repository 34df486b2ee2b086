"""Bad input refused before the work, earlier outputs kept, divergence named (issue 19), table-driven over the
entry points. Each case: exit status 2 (3 for a diverged run), one line ``error: KEY: …`` naming the culprit, no
traceback, and every earlier output byte-for-byte unchanged (checksums).

Cases that need no trained model run the entry point's function in process (the start-up checks come before
any checkpoint is read, which these cases also show: they give a missing checkpoint and still get the output
or value named); the few that need a trained run use the real ``python train.py``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from gennet.cli.devices import device_for
from gennet.cli.startup import check_overrides
from gennet.errors import ConfigError
from tests.cli.entrypoint import REPO, TINY, run_script, run_train

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points

SCRIPTS = ("train", "sample", "interpolate", "evaluate", "explain", "analyze", "train_prior", "regress")


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` but Hydra's record of the latest command line (``.hydra/``, which Hydra
    rewrites for any command run in that directory, before gennet's checks)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".hydra" not in p.relative_to(folder).parts}


def one_line(result, status: int = 2) -> str:
    output = result.stderr + result.stdout
    assert result.returncode == status and "Traceback" not in output, output[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip() and line.startswith("error:")]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


# ------------------------------------------------------------------ family 6: unknown keys and options
@pytest.mark.parametrize(
    "script, override, key",
    [*((script, "foo=1", "foo") for script in SCRIPTS), ("train", "model.foo=1", "model.foo"),
     ("train", "+experiment=nope", "experiment"), ("train", "data=nope", "data"), ("sample", "num_samples=[1", "num_samples")],
)
def test_unknown_keys_are_one_line_naming_the_key(script, override, key):
    with pytest.raises(ConfigError) as error:
        check_overrides(script, [override])
    assert error.value.key == key


def test_unknown_key_through_the_real_entry_point(tmp_path):
    for script in ("train", "explain"):
        result = run_script(script, ["foo=1"], tmp_path)
        assert one_line(result).startswith("error: foo: unknown key")
    result = run_script("train", ["model=xyz"], tmp_path)
    line = one_line(result)
    assert line.startswith("error: model: unknown option 'xyz'") and "generator" in line


def test_good_overrides_pass():
    check_overrides("train", ["model.lr=0.01", "+experiment=mnist_classifier", "hydra.run.dir=/tmp/x"])
    check_overrides("sample", ["ckpt_path=a.ckpt", "num_samples=4"])
    check_overrides("train", ["--cfg", "job"])  # Hydra's own flags are left to Hydra


# ------------------------------------------------------------------ family 5: a CUDA device that is not there
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_requested_without_a_gpu_is_refused_up_front(name):
    with pytest.raises(ConfigError) as error:
        device_for(name)
    assert error.value.key == "device" and "no CUDA GPU" in error.value.message


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_through_the_real_entry_point(tmp_path):
    result = run_script("explain", ["ckpt_path=missing.ckpt", "device=cuda"], tmp_path)
    assert one_line(result).startswith("error: device:")


# ------------------------------------------------------------------ families 1–3, 11: outputs and values up front
def _in_process(function, config: str, overrides: list[str], capsys) -> str:
    from tests.cli.test_hybrids import compose

    with pytest.raises(SystemExit) as exit_:
        function(compose(config, overrides))
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_.value.code == 2 and len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def earlier(tmp_path) -> Path:
    """A folder holding earlier results of every kind, and a plain file to put paths under."""
    folder = tmp_path / "earlier"
    (folder / "an").mkdir(parents=True)
    for name in ("grid.png", "ev.json", "ev.md", "explain.png", "an/analysis.json", "an/analysis.md", "a_file"):
        (folder / name).write_bytes(name.encode() * 7)
    return folder


def _cases(earlier: Path):
    from gennet.cli.analyze import analyze
    from gennet.cli.evaluate import evaluate
    from gennet.cli.explain import explain
    from gennet.cli.interpolate import interpolate
    from gennet.cli.sample import sample

    missing = "ckpt_path=missing.ckpt"
    return [
        # family 1: an existing file, a path under a file, a place that cannot be written
        (explain, "explain", [missing, f"output={earlier / 'explain.png'}"], "output"),
        (explain, "explain", [missing, f"output={earlier / 'a_file' / 'x.png'}"], "output"),
        (explain, "explain", [missing, "output=/proc/gennet_explain.png"], "output"),
        (evaluate, "evaluate", [missing, f"output={earlier / 'a_file' / 'ev'}"], "output"),
        (evaluate, "evaluate", [missing, "output=/proc/gennet_ev"], "output"),
        (analyze, "analyze", [missing, f"output={earlier / 'a_file'}"], "output"),
        (analyze, "analyze", [missing, f"output={earlier / 'a_file' / 'an'}"], "output"),
        (sample, "sample", [missing, f"output={earlier / 'a_file' / 'x.png'}"], "output"),
        (sample, "sample", [missing, "output=/proc/gennet_grid.png"], "output"),
        (sample, "sample", [missing, f"output={earlier}"], "output"),
        (sample, "sample", [missing, "output=grid"], "output"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'a_file' / 's.png'}"], "output"),
        (interpolate, "interpolate", [missing, f"output={earlier}"], "output"),
        # family 2: explain.py given a directory
        (explain, "explain", [missing, f"output={earlier}"], "output"),
        # family 3: a re-run over earlier results
        (evaluate, "evaluate", [missing, f"output={earlier / 'ev'}"], "output"),
        (sample, "sample", [missing, f"output={earlier / 'grid.png'}"], "output"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'grid.png'}"], "output"),
        (analyze, "analyze", [missing, f"output={earlier / 'an'}"], "output"),
        # family 7 and 11: booleans and numbers
        (explain, "explain", [missing, f"output={earlier / 'new.png'}", "wandb=maybe"], "wandb"),
        (evaluate, "evaluate", [missing, "temperature=-1"], "temperature"),
        (evaluate, "evaluate", [missing, "temperature=inf"], "temperature"),
        (evaluate, "evaluate", [missing, "refit=off"], "refit"),
        (sample, "sample", [missing, "temperature=-1"], "temperature"),
        (sample, "sample", [missing, "temperature=nan"], "temperature"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'new.png'}", "gif=true", "frame_ms=-5"], "frame_ms"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'grid.png'}".replace("grid.png", "new.png"), "gif=yes"], "gif"),
        (analyze, "analyze", [missing, f"output={earlier / 'an2'}", "lipschitz.lr=nan"], "lipschitz.lr"),
    ]


def test_outputs_and_values_are_checked_before_any_work(earlier, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    before = checksums(earlier)
    for function, config, overrides, key in _cases(earlier):
        line = _in_process(function, config, overrides, capsys)
        assert line.startswith(f"error: {key}:"), (overrides, line)
        assert "ckpt_path" not in line.split(":")[1]  # named before the (missing) checkpoint was looked at
    assert checksums(earlier) == before
    assert not (earlier.parent / "earlier.png").exists()  # family 2: nothing written beside the directory


# ------------------------------------------------------------------ families 9, 10: train.py
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    result = run_train([*TINY, "logger=csv", "test=false"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_train_refuses_checkpoints_that_do_not_fit_and_non_finite_values(tiny_run, tmp_path):
    before = checksums(tiny_run)
    changed = run_train(["ckpt_path=last", "model.num_atoms=32", "logger=csv"], tiny_run)
    line = one_line(changed)
    assert line.startswith("error: ckpt_path:") and "does not fit the configured model" in line and "[64" in line
    foreign = run_train([f"ckpt_path={tiny_run / 'checkpoints' / 'last.ckpt'}", "model=scatnet", "logger=csv"], tmp_path / "c")
    assert one_line(foreign).startswith("error: ckpt_path:")
    for value in ("inf", "nan", "-inf"):
        result = run_train([f"model.lr={value}", "logger=csv"], tmp_path / f"lr_{value}")
        assert one_line(result).startswith("error: model.lr:")
    assert checksums(tiny_run) == before


def test_a_failed_factorization_takes_the_divergence_path(tmp_path):
    """A learning rate that overflows the atoms: the ADMM solver's Cholesky fails inside the training step."""
    run_dir = tmp_path / "run"
    result = run_train(["model.lr=1e308", "trainer.max_epochs=1", "trainer.limit_train_batches=3",
                        "trainer.limit_val_batches=1", "test=false", "logger=csv"], run_dir)
    line = one_line(result, status=3)
    assert line.startswith("error: training:") and "step" in line and ("last good checkpoint" in line or "no checkpoint" in line)
    assert not (run_dir / "metrics.json").exists()


# ------------------------------------------------------------------ families 4, 7: synthesize.py
def test_synthesize_refuses_bad_booleans_outputs_and_keys(tmp_path, earlier):
    before = checksums(earlier)
    cases = [(["grayscale=off"], "grayscale"), (["grayscale=maybe"], "grayscale"), (["metrics=1"], "metrics"),
             ([f"output={earlier / 'a_file'}"], "output"), ([f"output={earlier / 'a_file' / 'sub'}"], "output"),
             (["foo=1"], "foo"), (["device=cuda"] if not torch.cuda.is_available() else ["device=nope"], "device")]
    for args, key in cases:
        result = run_script("synthesize", ["image=skimage:brick", "size=64", *args], tmp_path)
        assert one_line(result).startswith(f"error: {key}:"), (args, result.stderr[-2000:])
    assert checksums(earlier) == before


@pytest.mark.parametrize("signum, status", [("SIGTERM", 143), ("SIGINT", 130)])
def test_an_interrupted_synthesis_keeps_its_best_samples_and_loss_trace(tmp_path, signum, status):
    """A real signal during the L-BFGS iterations: the current evaluation ends, the best samples so far, their
    metrics and the loss trace (marked interrupted) are written, and the exit status is 128 + the signal."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    output = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, str(REPO / "synthesize.py"), "image=skimage:brick", "size=64", "num_samples=1", "synthesis.n_iter=100000",
         "synthesis.plateau=0", "metrics=false", "logger=none", f"output={output}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for line in process.stdout:  # the synthesis starts right after this line
        if "sample(s) per model" in line:
            break
    time.sleep(5)
    process.send_signal(getattr(signal, signum))
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == status and "Traceback" not in stderr, stderr[-3000:]
    trace = json.loads((output / "loss.json").read_text())
    assert trace["interrupted"] is True and len(trace["loss"]) >= 1
    assert json.loads((output / "metrics.json").read_text())["interrupted"] is True
    samples = torch.load(output / "samples.pt", weights_only=True)
    assert samples["phase_harmonic"].shape == (1, 1, 64, 64) and torch.isfinite(samples["phase_harmonic"]).all()
    assert (output / "panel.png").stat().st_size > 1000


# ------------------------------------------------------------------ family 8: a damaged Gaussian model beside a checkpoint
def test_a_damaged_gaussian_model_is_one_line(tiny_run, tmp_path):
    import shutil

    checkpoint = tmp_path / "last.ckpt"
    shutil.copy(tiny_run / "checkpoints" / "last.ckpt", checkpoint)
    gaussian = tmp_path / "last.gaussian.pt"
    for content in (b"", b"PK\x03\x04 truncated zip"):
        gaussian.write_bytes(content)
        result = run_script("sample", [f"ckpt_path={checkpoint}", "output=grid.png"], tmp_path)
        line = one_line(result)
        assert line.startswith("error: ckpt_path: cannot read the Gaussian model") and "refit=true" in line
        assert not (tmp_path / "grid.png").exists() and gaussian.read_bytes() == content


def test_a_run_directory_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ConfigError) as error:
        check_overrides("train", [f"hydra.run.dir={tmp_path / 'a_file'}"])
    assert error.value.key == "hydra.run.dir" and "is a file" in error.value.message
    with pytest.raises(ConfigError) as error:
        check_overrides("train", [f"hydra.run.dir={tmp_path / 'a_file' / 'run'}"])
    assert error.value.key == "hydra.run.dir"
    check_overrides("train", [f"hydra.run.dir={tmp_path / 'new' / 'run'}"])  # a folder to be created is fine
    assert (tmp_path / "a_file").read_text() == "x"
