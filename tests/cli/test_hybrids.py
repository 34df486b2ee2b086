"""End-to-end runs of `python train.py` for the hybrids, the Shared Local Encoder and the ResNet baseline (bundled
digits; an ImageNet layout of real photographs), and of `python analyze.py` on their checkpoints, with bad input."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch

from gennet.cli.analyze import analyze
from gennet.cli.validate import validate_train_config
from gennet.errors import ConfigError
from gennet.lit import ClassifierModule
from tests.cli.entrypoint import REPO, TINY, assert_no_temporaries, run_script, run_train

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points

MODELS = {
    "hybrid": ["+experiment=mnist_hybrid"],
    "sle": ["+experiment=mnist_digits", "model=sle", "model.network.J=2", "model.network.widths=[16]", "model.network.hidden=[16]"],
    "resnet": ["+experiment=mnist_digits", "model=resnet", "model.network.stem=imagenet", "data.batch_size=16"],
    "sparse_scatnet": ["+experiment=mnist_classifier", "model.standardization_samples=256"],
}
NETWORKS = {"hybrid": "HybridScatteringNet", "sle": "SharedLocalEncoder", "resnet": "ResNet18", "sparse_scatnet": "SparseScatteringClassifier"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """One tiny training run (2 batches, 1 epoch) of each network: ``{name: run_dir}``."""
    root = tmp_path_factory.mktemp("hybrid_runs")
    out = {}
    for name, args in MODELS.items():
        result = run_train([*args, *TINY, "logger=csv"], root / name)
        assert result.returncode == 0, (name, result.stderr[-3000:])
        out[name] = root / name
    return out


@pytest.mark.parametrize("name", ["hybrid", "sle", "resnet"])
def test_new_networks_train_end_to_end_and_reload_with_weights_only(runs, name):
    metrics = json.loads((runs[name] / "metrics.json").read_text())
    assert 0 <= metrics["test/acc"] <= metrics["test/acc_top5"] <= 1 and "train/sparsity" not in metrics
    checkpoint = torch.load(runs[name] / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    hp = checkpoint["hyper_parameters"]
    assert hp["network"]["_target_"] == f"gennet.models.{NETWORKS[name]}" and "architecture" not in hp
    module = ClassifierModule(**hp)
    module.load_state_dict(checkpoint["state_dict"])
    assert type(module.network).__name__ == NETWORKS[name]


def test_imagenet_hybrid_command_of_the_issue(tmp_path, imagenet_root):
    """The acceptance command, as written in the issue, on a 7-class ImageNet layout of real photographs."""
    run_dir = tmp_path / "imagenet_hybrid"
    args = ["+experiment=imagenet_hybrid", f"data.root={imagenet_root}", "data.image_size=64", "data.batch_size=8",
            "trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
            "trainer.limit_test_batches=1", "trainer.accelerator=cpu"]
    result = run_train(args, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 <= metrics["test/acc"] <= metrics["test/acc_top5"] <= 1
    hp = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")["hyper_parameters"]
    assert hp["num_classes"] == 7 and hp["network"]["J"] == 3 and hp["network"]["widths"] == [256, 512] and hp["lr"] == 0.1


def compose(config: str, overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from gennet.cli.resolvers import register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(REPO / "gennet" / "conf"), version_base="1.3"):
        return hydra_compose(config, overrides=overrides)


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["+experiment=mnist_hybrid", "model.network.J=6"], "model.network.J"),
        (["+experiment=mnist_hybrid", "model.network._target_=os.system"], "model.network._target_"),
    ],
)
def test_bad_network_values_stop_train_py_with_one_line(tmp_path, overrides, key):
    run_dir = tmp_path / "bad"
    result = run_train(overrides, run_dir)
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}:"), result.stderr
    assert not (run_dir / "checkpoints").exists()


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["+experiment=mnist_hybrid", "model.network.widths=[64]"], "model.network.blocks"),
        (["+experiment=mnist_hybrid", "model.network.widths=[0,8]"], "model.network.widths[0]"),
        (["+experiment=mnist_hybrid", "model.network.widths=8"], "model.network.widths"),
        (["+experiment=mnist_hybrid", "model.network.phases=3"], "model.network.phases"),
        (["+experiment=mnist_hybrid", "+model.network.depth=3"], "model.network.depth"),
        (["+experiment=mnist_hybrid", "model.network._target_=gennet.models.NoSuchNet"], "model.network._target_"),
        (["+experiment=mnist_hybrid", "model._recursive_=true"], "model._recursive_"),
        (["+experiment=mnist_hybrid", "model.lr_schedule=linear"], "model.lr_schedule"),
        (["+experiment=mnist_hybrid", "model.momentum=1.5"], "model.momentum"),
        (["+experiment=mnist_digits", "model=resnet", "model.network.stem=big"], "model.network.stem"),
        (["+experiment=mnist_digits", "model=sle", "model.network.dropout=1"], "model.network.dropout"),
        (["+experiment=mnist_digits", "model=sle", "model.network.pool_size=0"], "model.network.pool_size"),
        (["+experiment=mnist_digits", "model=sle", "model.network.hidden=256"], "model.network.hidden"),  # SLE: a list
        (["+experiment=mnist_digits", "model.network._target_=gennet.models.ScatteringClassifier", "model.network.J=2",
          "~model.network.widths", "~model.network.blocks", "+model.network.hidden=0"], "model.network.hidden"),
    ],
)
def test_bad_network_values_are_named_at_start_up(overrides, key):
    """The start-up checks of train.py (the formatting of the line is the previous test's)."""
    with pytest.raises(ConfigError) as caught:
        validate_train_config(compose("train", overrides))
    assert caught.value.key == key, caught.value


def test_good_network_configs_pass_the_start_up_checks():
    for overrides in (["+experiment=mnist_hybrid"], ["+experiment=mnist_digits", "model=sle"], ["+experiment=mnist_digits", "model=resnet"],
                      ["+experiment=imagenet_hybrid", "data.root=x"], ["+experiment=mnist_classifier"],
                      # scatnet's head as model.network: its hidden is one width, not a list
                      ["+experiment=mnist_digits", "model.network._target_=gennet.models.ScatteringClassifier", "model.network.J=2",
                       "~model.network.widths", "~model.network.blocks", "+model.network.hidden=512"]):
        validate_train_config(compose("train", overrides))


ANALYZE = ["max_images=60", "max_train_images=200", "keep_percent=[100,20,5]", "lipschitz.pairs=2", "lipschitz.steps=3",
           "lipschitz.power_iterations=20"]


@pytest.mark.parametrize("name", ["hybrid", "sparse_scatnet", "resnet"])
def test_analyze_writes_every_plot_and_table(runs, tmp_path, name):
    """``python analyze.py`` for the hybrid; the entry point's function, in process, for the others."""
    output = tmp_path / "analysis"
    args = [f"ckpt_path={runs[name] / 'checkpoints' / 'last.ckpt'}", f"output={output}", *ANALYZE]
    if name == "hybrid":
        result = run_script("analyze", args, tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    else:
        analyze(compose("analyze", args))
    analysis = json.loads((output / "analysis.json").read_text())
    report = (output / "analysis.md").read_text()
    assert analysis["network"] == NETWORKS[name] and analysis["test_images"] == 60
    stages = analysis["separation"]["stages"]
    assert all(set(stage["lsv"]) == {"1", "3", "5"} for stage in stages) and analysis["separation"]["references"] == 200
    lipschitz = analysis["lipschitz"]
    assert lipschitz["empirical"]["final"] >= lipschitz["empirical"]["initial"] > 0
    for figure in ("lipschitz", "separation"):
        assert (output / f"{figure}.png").stat().st_size > 10_000
    assert_no_temporaries(output)
    if name == "resnet":  # no scattering front end: no angular analysis
        assert "angular" not in analysis and not (output / "angular_spectrum.png").exists()
        assert lipschitz["product"] >= lipschitz["empirical"]["final"]
        return
    angular = analysis["angular"]
    assert [point["keep"] for point in angular["thresholding"]] == [1.0, 0.2, 0.05]
    assert angular["thresholding"][0]["accuracy"] == analysis["test_accuracy"]
    assert "80% of the angular Fourier coefficients removed" in report
    for figure in ("angular_spectrum", "thresholding"):
        assert (output / f"{figure}.png").stat().st_size > 10_000
    if name == "hybrid":
        assert angular["layer"] == "stem.0" and angular["channels"] == 81
        assert lipschitz["product"] >= lipschitz["empirical"]["final"]
    else:  # sparse_scatnet: the ℓ2 normalization and ISTC have no bound
        assert angular["layer"] == "projection" and lipschitz["product"] is None


class Hostile:
    def __reduce__(self):
        return (os.system, ("echo unpickled",))


def test_analyze_refuses_bad_checkpoints_and_values_with_one_line(runs, tmp_path, capsys):
    """Each bad input exits with status 2 and one line naming it (the entry point's function, in process; the
    subprocess runs above check that ``user_errors`` turns such errors into that line and status)."""
    text = tmp_path / "notes.ckpt"
    text.write_text("not a checkpoint\n")
    hostile = tmp_path / "hostile.ckpt"
    hostile.write_bytes(pickle.dumps({"state_dict": Hostile(), "hyper_parameters": {}}))
    checkpoint = torch.load(runs["hybrid"] / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    checkpoint["hyper_parameters"]["network"]["_target_"] = "subprocess.run"
    foreign = tmp_path / "foreign.ckpt"
    torch.save(checkpoint, foreign)
    good = runs["hybrid"] / "checkpoints" / "last.ckpt"
    (tmp_path / "taken").write_text("a file\n")
    cases = [
        ([f"ckpt_path={tmp_path / 'missing.ckpt'}"], "ckpt_path"),
        ([f"ckpt_path={text}"], "ckpt_path"),
        ([f"ckpt_path={hostile}"], "ckpt_path"),
        ([f"ckpt_path={foreign}"], "ckpt_path"),
        ([f"ckpt_path={good}", "keep_percent=[0]"], "keep_percent"),
        ([f"ckpt_path={good}", "lsv_k=[0]"], "lsv_k[0]"),
        ([f"ckpt_path={good}", "lipschitz.pairs=0"], "lipschitz.pairs"),
        ([f"ckpt_path={good}", "lipschitz.lr=-1"], "lipschitz.lr"),
        ([f"ckpt_path={good}", f"output={tmp_path / 'taken'}"], "output"),
    ]
    for args, key in cases:
        with pytest.raises(SystemExit) as exit_:
            analyze(compose("analyze", args))
        captured = capsys.readouterr()
        lines = [line for line in captured.err.splitlines() if line.strip()]
        assert exit_.value.code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {key}:"), (args, captured.err)
        assert "unpickled" not in captured.out
    assert (tmp_path / "taken").read_text() == "a file\n"
