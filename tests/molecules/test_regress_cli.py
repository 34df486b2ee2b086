"""The real entry point ``python regress.py`` on real QM9 molecules (tiny counts, few scales), with the baselines and
the rotation check; ``+experiment=qm9_full`` composed as for a GPU and run one tiny step on the CPU; the one-line
refusals: bad config values, a grid too small for a molecule, an earlier run, a missing extra."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.entrypoint import run_script

pytestmark = pytest.mark.slow  # end-to-end runs of regress.py

SMALL = ["features.exact_scales=[0.42,1.2]", "features.exact_L=2", "features.cubic_scales=[0.0,0.42]",
         "regression.ranks=[2,4]", "regression.widths=[1.0,4.0]", "stability.molecules=4", "stability.rotations=2"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("molecule_cache")


def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return run_script("regress", args, cwd, timeout)


def test_end_to_end_and_no_overwrite(tmp_path, cache_dir):
    run = tmp_path / "run"
    args = ["+experiment=qm9", "data.num_train=16", "data.num_test=8", "data.curve=[10,16]", f"data.cache_dir={cache_dir}",
            "~baselines.slatm", "~baselines.soap", *SMALL, f"hydra.run.dir={run}"]  # (their descriptors: test_baselines)
    done = _run(args, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("scattering/ridge/mae", "scattering/quadratic/mae", "scattering/kernel/rmse", "coulomb/kernel/mae",
                "bob/kernel/mae", "scattering/quadratic/loo_mae"):
        assert metrics[key] > 0, key
    assert 0 <= metrics["scattering/ridge/rotation_std_mean"] < 1e-6  # grid-free invariants: round-off
    assert metrics["num_train"] == 16 and metrics["num_test"] == 8 and metrics["features/seconds_per_molecule"] > 0
    curve = json.loads((run / "learning_curve.json").read_text())
    assert sorted({r["num_train"] for r in curve}) == [10, 16] and len(curve) == 2 * (3 + 2)
    assert (run / "learning_curve.png").stat().st_size > 10_000 and (run / "predictions.png").stat().st_size > 10_000
    assert "scattering  quadratic" in done.stdout and "rotation spread" in done.stdout
    # a second run into the same directory is refused, the first one's outputs kept
    before = (run / "metrics.json").read_text()
    again = _run(args, tmp_path)
    assert again.returncode == 2 and again.stderr.strip().startswith("error: hydra.run.dir:")
    assert (run / "metrics.json").read_text() == before


def test_full_experiment_composes_and_runs_one_tiny_step(tmp_path, cache_dir):
    """``+experiment=qm9_full device=cuda`` is the GPU run of all 110,000 training molecules on the fine grid; the same
    experiment runs here on the CPU with tiny counts and a coarse grid (its features timed on the first molecules)."""
    cfg = _compose(["+experiment=qm9_full", "device=cuda"])
    assert cfg.device == "cuda" and cfg.data.num_train == 110_000 and cfg.data.time_first == 1000
    assert cfg.features.grid and cfg.features.spacing == 0.2 and cfg.features.sigma_density == 0.22
    assert list(cfg.regression.models) == ["ridge", "quadratic"] and cfg.baselines is None
    run = tmp_path / "run"
    done = _run(["+experiment=qm9_full", "device=cpu", "data.num_train=20", "data.num_test=6", "data.curve=[12]",
                 "data.time_first=8", f"data.cache_dir={cache_dir}", *SMALL, "features.shape=[32,28,24]",
                 "features.spacing=0.7", "features.sigma_0=1.05", "features.J=1", "features.L=1",
                 f"hydra.run.dir={run}"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "features: the first 8 molecules in" in done.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["num_train"] == 20 and metrics["scattering/quadratic/mae"] > 0 and "coulomb/kernel/mae" not in metrics


def test_bad_value_one_line(tmp_path):
    """The real entry point: one ``error: KEY: …`` line, exit 2, no traceback, nothing written."""
    done = _run(["data.num_train=abc", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: data.num_train: expected an integer"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def _compose(overrides):
    from hydra import compose, initialize_config_dir

    from gennet.cli.regress import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="regress", overrides=overrides)


@pytest.mark.parametrize("override,key,message", [
    ("regression.models=[forest]", "regression.models", "unknown model 'forest'"),
    ("+baselines.fchl=rbf", "baselines.fchl", "unknown descriptor 'fchl'"),
    ("baselines.coulomb=cosine", "baselines.coulomb", "rbf or laplacian"),
    ("features.J=-1", "features.J", "an integer >= 0"),
    ("features.shape=[4,4]", "features.shape", "three sizes"),
    ("data.curve=[5]", "data.curve", "must be >= 10"),
    ("regression.widths=[0]", "regression.widths", "positive numbers"),
    ("regression.ranks=[2.5]", "regression.ranks", "positive integers"),
    ("stability.rotations=1", "stability.rotations", "must be >= 2"),
    ("data.name=qm7", "data.name", "only qm9"),
])
def test_bad_values_name_their_key(override, key, message):
    from gennet.cli.regress import _validate
    from gennet.errors import ConfigError

    with pytest.raises(ConfigError, match=message) as raised:
        _validate(_compose([override]))
    assert raised.value.key == key


def test_grid_too_small(tmp_path, cache_dir):
    done = _run(["data.num_train=12", "data.num_test=4", f"data.cache_dir={cache_dir}", "features=fast", "features.shape=[12,12,12]",
                 f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith("error: features.shape: molecule #") and "enlarge the grid" in line and len(line.splitlines()) == 1


def test_curve_sizes_follow_num_train():
    from gennet.cli.regress import _sizes

    assert _sizes(_compose(["+experiment=qm9"])) == [1000, 2000, 5000, 10000, 20000]
    assert _sizes(_compose(["+experiment=qm9", "data.num_train=2000"])) == [1000, 2000]
    assert _sizes(_compose(["+experiment=qm9", "data.num_train=1500"])) == [1000, 1500]
    assert _sizes(_compose([])) == [500]


def test_missing_extra(monkeypatch):
    import importlib.util

    from gennet.cli.regress import _validate
    from gennet.errors import ConfigError

    cfg = _compose(["+experiment=qm9"])
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "qm9pack" else real(name, *a))
    with pytest.raises(ConfigError, match=r"qm9pack") as raised:
        _validate(cfg)
    assert raised.value.key == "data"
