"""End to end: ``python analyze.py runs=DIR analysis=[frequency,margins,robustness,spectral]`` on real (tiny) training
runs of ``train.py`` — plain, a second seed, trained on x_l only, trained on flipped digits — and the sections on one
checkpoint; bad values stop with one line."""

from __future__ import annotations

import json

import pytest

from tests.cli.entrypoint import TINY, run_script, run_train

pytestmark = pytest.mark.slow

HYBRID = ["+experiment=mnist_hybrid", "model.network.widths=[16]", "model.network.blocks=[1]", "data.seed=0", "logger=csv"]
VARIANTS = {"seed0": [], "seed1": ["seed=1"], "low4": ["data.frequency_filter=low:4"], "flip": ["data.frequency_flip=true"]}
SMALL = ["max_images=32", "frequency.images=16", "frequency.radii=[4,8]", "frequency.smoothing=[0.0,0.5]",
         "lipschitz.power_iterations=5", "margins.images=2", "margins.max_iter=10", "margins.candidates=2",
         "consistency.images=100", "robustness.images=8", "robustness.linf=[0.1]", "robustness.l2=[1.0]",
         "robustness.steps=2", "spectral.lines=2", "spectral.points=16"]
ALL = "analysis=[frequency,margins,robustness,spectral]"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("reliance") / "runs"
    (root / "hybrid").mkdir(parents=True)
    for variant, extra in VARIANTS.items():
        result = run_train([*HYBRID, *extra, *TINY], root / "hybrid" / variant)
        assert result.returncode == 0, (variant, result.stderr[-3000:])
    return root


def test_analyze_compares_the_runs_of_a_directory(runs, tmp_path):
    output = tmp_path / "comparison"
    result = run_script("analyze", [f"runs={runs}", f"output={output}", ALL, *SMALL], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    comparison = json.loads((output / "comparison.json").read_text())
    row = comparison["rows"]["hybrid"]
    assert set(comparison["runs"]) == {"hybrid/seed0", "hybrid/seed1", "hybrid/low4", "hybrid/flip"}
    assert "trained on x_l r=4: acc. x / x_l / x_h (%)" in row and "flipped: margin lowest / highest DCT block" in row
    assert "acc. x_l / x_h (%) (paradox count) r=4" in row and "PGD ℓ2 ε=1 (%)" in row and "margin full space (median)" in row
    (consistency,) = comparison["knowledge_consistency"]
    assert {consistency["a"], consistency["b"]} == {"hybrid/seed0", "hybrid/seed1"} and set(consistency["unexplained"]) == {"0", "1", "2"}
    plain = comparison["runs"]["hybrid/seed0"]
    assert [s["r"] for s in plain["frequency"]["splits"]] == [4.0, 8.0] and len(plain["frequency"]["smoothing"]) == 2
    assert [s["subspace"] for s in plain["margins"]["subspaces"]][-1] == "full space"
    low = comparison["runs"]["hybrid/low4"]
    assert low["frequency_filter"] == "low:4" and low["split"]["r"] == 4.0
    for figure in ("frequency", "smoothing", "margins", "robustness", "spectral", "margins_flipped"):
        assert (output / f"{figure}.png").stat().st_size > 10_000, figure
    table = (output / "comparison.md").read_text()
    assert table.startswith("# What the networks rely on") and "| measure | `hybrid` |" in table
    assert (output / "runs" / "hybrid__seed0.md").read_text().count("## ") == 4


def test_the_sections_on_one_checkpoint_and_bad_values(runs, tmp_path):
    output = tmp_path / "one"
    ckpt = runs / "hybrid" / "seed0" / "checkpoints" / "last.ckpt"
    args = [f"ckpt_path={ckpt}", f"output={output}", "analysis=[lipschitz,spectral,margins]", "max_train_images=60",
            "lipschitz.pairs=1", "lipschitz.steps=1", *SMALL]
    result = run_script("analyze", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    analysis = json.loads((output / "analysis.json").read_text())
    assert set(analysis["spectral"]["kinds"]) == {"random lines", "image paths"} and "## Margins along subspaces" in (output / "analysis.md").read_text()
    assert "angular" not in analysis and analysis["margins"]["lipschitz_bound"] == analysis["lipschitz"]["product"]  # one bound
    assert (output / "spectral.png").is_file() and (output / "margins.png").is_file() and (output / "lipschitz.png").is_file()
    for extra, key in (("analysis=[bogus]", "analysis"), ("frequency.radii=[0]", "frequency.radii[0]"),
                       ("margins.block=0", "margins.block")):
        bad = run_script("analyze", [f"ckpt_path={ckpt}", f"output={tmp_path / 'bad'}", extra], tmp_path)
        lines = [line for line in bad.stderr.splitlines() if line.strip()]
        assert bad.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {key}:"), bad.stderr
    missing = run_script("analyze", [f"runs={tmp_path / 'nowhere'}", f"output={tmp_path / 'bad'}", ALL], tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip().startswith("error: runs:"), missing.stderr
    single = run_script("analyze", [f"runs={runs}", f"output={tmp_path / 'bad'}", "analysis=[probes]"], tmp_path)
    assert single.returncode == 2 and single.stderr.strip().startswith("error: analysis: probes is measured per checkpoint"), single.stderr
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())
