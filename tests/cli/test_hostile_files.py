"""Files built as an attacker would (issue 32): nothing a file names is ever imported or called, every structure read
from a file is checked before use. One case per loader — the data record and the hyper-parameters of a checkpoint,
a prior file, the embeddings cache of ``train_prior.py``, the feature cache of ``regress.py`` — each built so that
today's loaders would run code or read garbage, and each checked to change nothing outside the run's own outputs
(every file under a sandbox, byte for byte).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from gennet.errors import ConfigError
from tests.cli.entrypoint import run_script


def tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (and the names of empty folders)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def generator_checkpoint(path: Path, **entries) -> Path:
    """A small real generator checkpoint (8 atoms, 2 layers), its data record the MNIST digits', with ``entries``
    replacing or adding top-level entries (``gennet_data``, ``hyper_parameters``, …)."""
    from gennet.data import MNIST5kDataModule
    from gennet.lit.data_record import datamodule_record
    from gennet.lit.generator_module import GeneratorModule

    module = GeneratorModule(num_atoms=8, n_layers=2)
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                  "gennet_data": datamodule_record(MNIST5kDataModule()), **entries}
    torch.save(checkpoint, path)
    return path


@pytest.fixture
def sandbox(tmp_path) -> Path:
    """A folder of files an attacker would aim at (a "home" with a config file), checked unchanged after each case."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("keep me\n")
    return home


# ------------------------------------------------------------------ the data record (SEC)
def hostile_records(target: Path) -> list[dict]:
    """Data records that call a function of the standard library when given to ``hydra.utils.instantiate``."""
    return [
        {"_target_": "builtins.open", "_args_": [str(target), "w"]},
        {"_target_": "pathlib.Path.touch", "_args_": [str(target)]},
        {"_target_": "gennet.data.MNIST5kDataModule", "root": {"_target_": "builtins.open", "_args_": [str(target), "w"]}},
        {"_target_": "gennet.data.mnist5k.torch.save", "_args_": [1, str(target)]},
        {"_target_": "shutil.rmtree", "_args_": [str(target.parent / "notes.txt")]},
    ]


def test_a_data_record_naming_any_function_is_refused(tmp_path, sandbox):
    from gennet.cli.generation import datamodule_for

    target = sandbox / "created_by_a_checkpoint"
    before = tree(sandbox)
    for record in hostile_records(target):
        with pytest.raises(ConfigError) as error:
            datamodule_for({"gennet_data": record}, None, tmp_path / "x.ckpt")
        assert error.value.key == "ckpt_path" and "gennet_data" in error.value.message, error.value
        assert tree(sandbox) == before and not target.exists(), record


@pytest.mark.slow
def test_sample_py_refuses_a_checkpoint_whose_data_record_opens_a_file(tmp_path, sandbox):
    """The issue's SEC case through the real entry point: exit 2, one line, the file not created, nothing written."""
    target = sandbox / "created_by_a_checkpoint"
    checkpoint = generator_checkpoint(tmp_path / "hostile.ckpt", gennet_data=hostile_records(target)[0])
    before = tree(sandbox)
    result = run_script("sample", [f"ckpt_path={checkpoint}", f"output={tmp_path / 'out' / 'grid.png'}"], tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("error: ckpt_path:") and "gennet_data" in lines[0]
    assert not target.exists() and tree(sandbox) == before
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ the hyper-parameters of a checkpoint
def _load(module_class, path: Path) -> ConfigError:
    from gennet.cli.checkpoints import load_module

    with pytest.raises(ConfigError) as error:
        load_module(module_class, path, torch.device("cpu"), "test", "hint")
    assert error.value.key == "ckpt_path"
    return error.value


def test_hyper_parameters_naming_classes_outside_the_registries_are_refused(tmp_path, sandbox):
    from gennet.lit.classifier_module import ClassifierModule
    from gennet.lit.generator_module import GeneratorModule

    target = str(sandbox / "created_by_a_checkpoint")
    opener = {"_target_": "builtins.open", "_args_": [target, "w"]}
    good = GeneratorModule(num_atoms=8, n_layers=2)
    hparams = dict(good.hparams)
    decoder = hparams["decoder"]
    generator_cases = [
        ({**hparams, "decoder": {**decoder, "_target_": "builtins.open"}}, "decoder._target_"),
        ({**hparams, "decoder": {**decoder, "_target_": "gennet.models.generator.torch.save"}}, "decoder._target_"),
        ({**hparams, "decoder": {**decoder, "_target_": "gennet.models.ScatteringFeatures"}}, "decoder._target_"),
        ({**hparams, "decoder": {**decoder, "solver": {**decoder["solver"], "_target_": "subprocess.run"}}}, "solver"),
        ({**hparams, "decoder": {**decoder, "seed": opener}}, "decoder.seed"),
        ({**hparams, "decoder": {**decoder, "solver": {**decoder["solver"], "n_layers": opener}}}, "decoder.solver.n_layers"),
        ({**hparams, "_target_": "os.system"}, "hyper_parameters._target_"),
        ({**hparams, "lr": torch.ones(3)}, "hyper_parameters.lr"),
        ({**hparams, "image_size": 2**40}, ""),  # filters of 2**80 pixels: refused by the allocator, one line
        ("not a mapping", "hyper_parameters"),
    ]
    classifier = ClassifierModule(network={"_target_": "gennet.models.ResNet18"}, num_classes=3)
    network_cases = [
        ({**classifier.hparams, "network": {"_target_": "gennet.models.hybrid_scatnet.OrderedDict"}}, "network"),
        ({**classifier.hparams, "network": {"_target_": "torch.nn.Linear", "in_features": 2**40, "out_features": 2**40}}, "network"),
        ({**classifier.hparams, "network": {"_target_": "gennet.models.ResNet18", "stem": opener}}, "network.stem"),
        ({**classifier.hparams, "network": {"_target_": "gennet.models.ResNet18", "_args_": [target]}}, "network"),
    ]
    before = tree(sandbox)
    for module_class, good_module, cases in ((GeneratorModule, good, generator_cases), (ClassifierModule, classifier, network_cases)):
        for hyper_parameters, culprit in cases:
            path = tmp_path / "hostile.ckpt"
            torch.save({"state_dict": good_module.state_dict(), "hyper_parameters": hyper_parameters}, path)
            error = _load(module_class, path)
            assert culprit in error.message, (culprit, error.message)
            assert tree(sandbox) == before
    assert not Path(target).exists()


# ------------------------------------------------------------------ prior files
def _prior_file(path: Path, **content) -> Path:
    from gennet.priors import GaussianMixturePrior

    prior = GaussianMixturePrior((2, 3, 3), num_components=2, dim=4).fit_(torch.randn(40, 2, 3, 3, generator=torch.Generator().manual_seed(0)))
    state = {k: v.clone() for k, v in prior.state_dict().items()}
    torch.save({"format": "gennet.prior/1", "kind": "mixture", "config": prior.config(), "state_dict": state, **content}, path)
    return path


def test_prior_files_are_checked_whole_before_the_prior_is_built(tmp_path, sandbox):
    from gennet.priors import GaussianMixturePrior, load_prior

    target = str(sandbox / "created_by_a_prior")
    good = torch.load(_prior_file(tmp_path / "good.pt"), weights_only=True)
    state, config = good["state_dict"], good["config"]
    load_prior(tmp_path / "good.pt")  # the unaltered file loads
    nan = {**state, "means": torch.full_like(state["means"], float("nan"))}
    cases = [
        ({"kind": "builtins.open"}, "prior kind"),
        ({"kind": None}, "prior kind"),
        ({"kind": ["mixture"]}, "prior kind"),
        ({"config": [target, "w"]}, "config"),
        ({"config": "mixture"}, "config"),
        ({"config": {**config, "_target_": "builtins.open"}}, "config._target_"),
        ({"config": {**config, "seed": {"_target_": "builtins.open", "_args_": [target, "w"]}}}, "config.seed"),
        ({"config": {**config, "dim": 10**6}}, "dim"),
        ({"config": {**config, "shape": [4096, 4096, 4096], "dim": 10**5}}, "memory"),
        ({"state_dict": {}}, "missing"),
        ({"state_dict": {**state, "fitted": torch.tensor(False)}}, "never fitted"),
        ({"state_dict": {**state, "basis": torch.zeros(5, 18, dtype=torch.float64)}}, "shape"),
        ({"state_dict": nan}, "non-finite"),
        ({"state_dict": [1, 2]}, "mapping of tensors"),
        ({"format": None}, "not a gennet prior file"),
    ]
    before = tree(sandbox)
    for entries, culprit in cases:
        path = _prior_file(tmp_path / "hostile.pt", **entries)
        with pytest.raises(ValueError) as error:
            load_prior(path)
        assert culprit in str(error.value) and str(path) in str(error.value), (entries.keys(), str(error.value))
        assert tree(sandbox) == before
    assert not Path(target).exists()
    assert isinstance(load_prior(tmp_path / "good.pt"), GaussianMixturePrior)
