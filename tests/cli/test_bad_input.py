"""Bad input refused before the work, earlier outputs kept, divergence named (issue 19), table-driven over the
entry points. Each case: exit status 2 (3 for a diverged run), one line ``error: KEY: …`` naming the culprit, no
traceback, and every earlier output byte-for-byte unchanged (checksums).

Cases that need no trained model run the entry point's function in process (the start-up checks come before
any checkpoint is read, which these cases also show: they give a missing checkpoint and still get the output
or value named); the few that need a trained run use the real ``python train.py``.
"""

from __future__ import annotations

import hashlib
import os
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
    cases = [
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
        (sample, "sample", [missing, "refit=maybe"], "refit"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'new.png'}", "gif=true", "frame_ms=-5"], "frame_ms"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'grid.png'}".replace("grid.png", "new.png"), "gif=yes"], "gif"),
        (analyze, "analyze", [missing, f"output={earlier / 'an2'}", "lipschitz.lr=nan"], "lipschitz.lr"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'new.png'}", "temperature=-1"], "temperature"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'new.png'}", "temperature=inf"], "temperature"),
        (interpolate, "interpolate", [missing, f"output={earlier / 'new.png'}", "refit=maybe"], "refit"),
        # family 1, siblings: a place no one can write (also root: /proc takes no new files)
        (analyze, "analyze", [missing, "output=/proc/gennet_an"], "output"),
        (interpolate, "interpolate", [missing, "output=/proc/gennet_strip.png"], "output"),
    ]
    if not torch.cuda.is_available():  # family 5, every entry point with a device key
        cases += [(function, config, [missing, f"output={earlier / output}", "device=cuda"], "device")
                  for function, config, output in ((sample, "sample", "new.png"), (interpolate, "interpolate", "new.png"),
                                                   (evaluate, "evaluate", "new_ev"), (explain, "explain", "new.png"),
                                                   (analyze, "analyze", "new_an"))]
    return cases


def test_outputs_and_values_are_checked_before_any_work(earlier, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    before = checksums(earlier)
    for function, config, overrides, key in _cases(earlier):
        line = _in_process(function, config, overrides, capsys)
        assert line.startswith(f"error: {key}:"), (overrides, line)
        assert "ckpt_path" not in line.split(":")[1]  # named before the (missing) checkpoint was looked at
    assert checksums(earlier) == before
    assert not (earlier.parent / "earlier.png").exists()  # family 2: nothing written beside the directory


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder: /proc and paths under a file cover it")
def test_a_read_only_folder_is_refused_before_any_work(earlier, capsys, monkeypatch, tmp_path):
    from gennet.cli.analyze import analyze
    from gennet.cli.explain import explain
    from gennet.cli.interpolate import interpolate
    from gennet.cli.sample import sample

    monkeypatch.chdir(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for function, config, output in ((sample, "sample", "s.png"), (interpolate, "interpolate", "i.png"),
                                         (explain, "explain", "e.png"), (analyze, "analyze", "an")):
            line = _in_process(function, config, ["ckpt_path=missing.ckpt", f"output={locked / output}"], capsys)
            assert line.startswith("error: output: cannot write into"), line
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_missing_gpu_is_one_line_for_the_training_entry_points(tmp_path):
    """train.py (trainer=gpu), train_prior.py and regress.py (device=cuda): one line, exit 2, no run directory filled."""
    cases = [("train", ["trainer=gpu", "logger=csv", f"hydra.run.dir={tmp_path / 'train'}"], "trainer"),
             ("train_prior", ["generator_ckpt=missing.ckpt", "device=cuda", f"hydra.run.dir={tmp_path / 'prior'}"], "device"),
             ("regress", ["device=cuda", f"hydra.run.dir={tmp_path / 'regress'}"], "device")]
    for script, args, key in cases:
        line = one_line(run_script(script, args, tmp_path))
        assert line.startswith(f"error: {key}:") and ("gpu" in line.lower() or "cuda" in line.lower()), line
    written = [p for p in tmp_path.rglob("*") if p.is_file() and ".hydra" not in p.parts and p.suffix != ".log"]
    assert not written, written  # nothing but Hydra's record and its (empty) job log


# ------------------------------------------------------------------ families 9, 10: train.py
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    result = run_train([*TINY, "logger=csv", "test=false"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def unfinished_copy(run_dir: Path, to: Path) -> Path:
    """A copy of a run without its ``metrics.json``: an unfinished run, which ``ckpt_path=last`` resumes (a finished one
    is refused, issue 32)."""
    import shutil

    shutil.copytree(run_dir, to)
    (to / "metrics.json").unlink()
    return to


def test_train_refuses_checkpoints_that_do_not_fit_and_non_finite_values(tiny_run, tmp_path):
    before = checksums(tiny_run)
    unfinished = unfinished_copy(tiny_run, tmp_path / "unfinished")
    changed = run_train(["ckpt_path=last", "model.num_atoms=32", "logger=csv"], unfinished)
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
    assert line.startswith("error: training:") and "solver failed at step" in line and "no checkpoint had been written" in line
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "checkpoints" / "last.ckpt").exists()


def test_a_divergence_after_a_checkpoint_keeps_it_loadable_and_finite(tiny_run, tmp_path):
    """A run resumed from a good ``last.ckpt`` whose learning rate (optimizer and schedule state) is huge: the first update
    of the new epoch overflows the atoms, the next step's factorization fails; exit 3 names the step and the checkpoint,
    which is the one from before (same bytes), loads with ``weights_only=True`` and holds finite weights."""
    run_dir = unfinished_copy(tiny_run, tmp_path / "run")
    last = run_dir / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    for group in checkpoint["optimizer_states"][0]["param_groups"]:
        group["lr"] = group["initial_lr"] = 1e308
    for scheduler in checkpoint.get("lr_schedulers", []):
        scheduler["base_lrs"] = [1e308] * len(scheduler["base_lrs"])
    torch.save(checkpoint, last)
    before = checksums(run_dir / "checkpoints")
    result = run_train(["ckpt_path=last", "trainer.max_epochs=2", "trainer.limit_train_batches=3", "trainer.limit_val_batches=1",
                        "test=false", "logger=csv"], run_dir)
    line = one_line(result, status=3)
    assert line.startswith("error: training:") and "step" in line and f"the last good checkpoint is {last}" in line, line
    assert checksums(run_dir / "checkpoints") == before
    weights = torch.load(last, weights_only=True)["state_dict"]
    assert weights and all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


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
    ours = samples[next(name for name in samples if name not in ("original", "gaussian"))]
    assert ours.shape == (1, 1, 64, 64) and torch.isfinite(ours).all()
    assert (output / "panel.png").stat().st_size > 1000


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM (``SigCgt`` in ``/proc/PID/status``; bit ``signum - 1``)."""
    import signal

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the handlers from /proc")
@pytest.mark.parametrize("signum, status", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_during_the_synthesis_set_up_is_one_line(tmp_path, signum, status):
    """The handlers are installed before the set-up (the 256² statistics take seconds to build): a signal then ends the
    command at once, one line, no traceback, nothing written."""
    import os
    import signal
    import subprocess
    import sys
    import time

    output = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "synthesize.py"), "image=skimage:brick", "size=256", "num_samples=1", "metrics=false",
         "logger=none", f"output={output}"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while not _catches_sigterm(process.pid):  # Python itself only handles SIGINT: this is gennet's handler
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.send_signal(getattr(signal, signum))
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == status and "Traceback" not in stderr, stderr[-3000:]
    assert "sample(s) per model" not in stdout  # stopped during the set-up, before the synthesis
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "during the set-up" in lines[0], stderr
    assert not output.exists()


# ------------------------------------------------------------------ family 8: a damaged Gaussian model beside a checkpoint
def test_a_damaged_gaussian_model_is_one_line(tiny_run, tmp_path):
    import shutil

    checkpoint = tmp_path / "last.ckpt"
    shutil.copy(tiny_run / "checkpoints" / "last.ckpt", checkpoint)
    gaussian = tmp_path / "last.gaussian.pt"
    # sample.py (both kinds of damage), and its siblings that read the same model: evaluate.py (before its
    # reconstruction pass) and interpolate.py between draws of the prior
    cases = [("sample", b"", ["output=grid.png"], "grid.png"), ("sample", b"PK\x03\x04 truncated zip", ["output=grid.png"], "grid.png"),
             ("evaluate", b"", ["output=ev", "max_images=8"], "ev.json"),
             ("interpolate", b"PK\x03\x04 truncated zip", ["output=strip.png", "from_noise=true"], "strip.png")]
    for script, content, args, written in cases:
        gaussian.write_bytes(content)
        result = run_script(script, [f"ckpt_path={checkpoint}", *args], tmp_path)
        line = one_line(result)
        assert line.startswith("error: ckpt_path: cannot read the Gaussian model") and "refit=true" in line, (script, line)
        assert "evaluating" not in result.stderr  # evaluate.py: refused before its reconstruction pass
        assert not (tmp_path / written).exists() and gaussian.read_bytes() == content


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
