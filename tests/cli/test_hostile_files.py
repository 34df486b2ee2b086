"""Files built as an attacker would (issue 32): nothing a file names is ever imported or called, every structure read
from a file is checked before use. One case per loader — the data record and the hyper-parameters of a checkpoint,
a prior file, the embeddings cache of ``train_prior.py``, the feature cache of ``regress.py`` — each built so that
today's loaders would run code or read garbage, and each checked to change nothing outside the run's own outputs
(every file under a sandbox, byte for byte).
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest
import torch

from gennet.errors import ConfigError
from tests.cli.entrypoint import run_script
from tests.cli.test_generation_scripts import Payload


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


def _middling_image_size(hparams: dict) -> int:
    """The smallest power-of-two image size whose Morlet filter bank needs more than twice the memory free here (a few
    times this machine's memory, not 2**80 pixels: a size the allocator alone might accept and then run out on)."""
    from gennet.limits import available_memory
    from gennet.transforms.filters import BYTES_PER_FILTER_VALUE

    J, L = hparams["decoder"]["J"], hparams["decoder"]["L"]
    free = available_memory() or 2**36
    size = 2 ** hparams["decoder"]["J"]
    while BYTES_PER_FILTER_VALUE * (J * L + 1) * size * size <= 2 * free:
        size *= 2
    return size


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
        ({**hparams, "image_size": _middling_image_size(good.hparams)}, "memory"),  # refused before any allocation
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


# ------------------------------------------------------------------ the embeddings cache of train_prior.py
def test_a_hostile_or_damaged_embeddings_cache_is_computed_again_not_read(tmp_path, sandbox, capsys):
    from gennet.cache_record import file_digest
    from gennet.cli.train_prior import _cached_embeddings, _save_embeddings

    shape = [3, 2, 2]
    expected = {"generator_sha256": "0" * 64, "fit_images": None, "shape": shape}
    good = {"train": torch.randn(5, *shape), "val": torch.randn(2, *shape)}
    cache = tmp_path / "embeddings.pt"
    _save_embeddings(good, cache, expected)
    assert torch.equal(_cached_embeddings(cache, expected)["train"], good["train"])
    marker = sandbox / "payload_ran"

    record = cache.with_name("embeddings.pt.record.json")
    hostile = [
        lambda: cache.write_bytes(pickle.dumps({"train": Payload(marker)})),  # code in the pickle, no record update
        lambda: (cache.write_bytes(pickle.dumps({"train": Payload(marker)})), _rerecord(record, cache)),  # and a forged record
        lambda: cache.write_bytes(cache.read_bytes()[:100]),  # truncated
        lambda: (torch.save({"train": torch.randn(5, 9, 9, 9), "val": good["val"]}, cache), _rerecord(record, cache)),
        lambda: (torch.save({**good, "train": good["train"].double()}, cache), _rerecord(record, cache)),
        lambda: (torch.save({**good, "train": good["train"] * float("nan")}, cache), _rerecord(record, cache)),
        lambda: record.write_text("not json"),
        lambda: record.unlink(),
    ]
    before = tree(sandbox)
    for damage in hostile:
        _save_embeddings(good, cache, expected)
        damage()
        assert _cached_embeddings(cache, expected) is None
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("warning: cache") and "computing it again" in lines[0], lines
        assert tree(sandbox) == before and not marker.exists()
    _save_embeddings(good, cache, expected)  # made for another generator: computed again
    assert _cached_embeddings(cache, {**expected, "generator_sha256": "1" * 64}) is None
    assert "another generator_sha256" in capsys.readouterr().err
    assert file_digest(cache)[0] > 0


def _rerecord(record: Path, cache: Path) -> None:
    """The record rewritten for the file's new bytes, keeping the rest (an attacker who also forges the record)."""
    import json

    from gennet.cache_record import file_digest

    content = json.loads(record.read_text())
    content["bytes"], content["sha256"] = file_digest(cache)
    record.write_text(json.dumps(content))


# ------------------------------------------------------------------ the feature cache of regress.py
def test_a_damaged_or_truncated_feature_cache_is_computed_again(tmp_path, capsys):
    """A features.npy cut short was extended with zeros by a read-write memory map and read as computed (MAE 232.5
    instead of 72.7 in the issue's run); a block of rows altered, or marked done without being computed, is read too.
    Each is now computed again, with one warning, to the values of a fresh computation."""
    import numpy as np

    from gennet.molecules import ScatteringFeatures
    from gennet.molecules.qm9 import load_qm9
    from tests.molecules.helpers import write_qm9_head
    from tests.molecules.test_features_cache import SMALL

    (tmp_path / "qm9").mkdir()
    data = load_qm9(files=write_qm9_head(tmp_path / "qm9", rows=6))
    tmp_path = tmp_path / "cache"
    features = ScatteringFeatures(**SMALL)
    rows = np.arange(6)
    fresh = features.compute(data, rows, progress=False)
    features.compute(data, rows, cache_dir=tmp_path, progress=False)
    (folder,) = tmp_path.glob("scattering-*")
    table, mask = folder / "features.npy", folder / "done.npy"
    original = {p: p.read_bytes() for p in (table, mask)}

    def truncate():
        table.write_bytes(original[table][: len(original[table]) // 2])

    def alter():
        values = np.load(table, mmap_mode="r+")
        values[2] = 0
        values.flush()

    def mark_done():
        done = np.load(mask)
        done[:] = True
        np.save(mask, done)

    for damage in (truncate, alter, mark_done):
        for path, content in original.items():
            path.write_bytes(content)
        damage()
        again = features.compute(data, np.arange(8), cache_dir=tmp_path, progress=False)
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("warning: cache") and "features.npy" in lines[0], lines
        assert features.last_timing["molecules"] >= 2  # the damaged rows (and the two new ones) were computed
        np.testing.assert_allclose(again[:6], fresh, rtol=1e-6)
    features.compute(data, np.arange(8), cache_dir=tmp_path, progress=False)
    assert features.last_timing["molecules"] == 0 and capsys.readouterr().err == ""  # the repaired cache is read back
