"""The families of issue 32 through the real entry points: settings checked before the work, finished runs never
replaced, checkpoints checked up front, caches that prove themselves (a damaged one computed again), limits where
memory is at stake, a full disk, and two runs into one directory. Each refusal is exit 2 and one line
``error: KEY: …`` before any work, with every earlier file unchanged (checksums) and nothing created outside the run's
outputs.

Refusals that come before any work run the entry point's function in process; results, a full disk and concurrent
runs use real processes. The generator is a small one built here (random weights: what is tested is the handling of
files, not the images).
"""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import pytest
import torch

from tests.cli.entrypoint import TINY, assert_no_temporaries, run_script, run_train
from tests.cli.test_bad_input import checksums, one_line
from tests.cli.test_generation_scripts import Payload
from tests.cli.test_hostile_files import generator_checkpoint, tree

pytestmark = pytest.mark.slow  # end-to-end runs of the entry points

MIXTURE = ["prior=mixture", "prior.num_components=2", "prior.dim=8", "prior.max_iter=20", "fit_images=64", "logger=csv"]


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> Path:
    return generator_checkpoint(tmp_path_factory.mktemp("generator") / "last.ckpt")


@pytest.fixture(scope="module")
def prior_file(generator, tmp_path_factory) -> Path:
    """A mixture prior over this generator's embeddings (fitted on random ones), as train_prior.py writes it."""
    from gennet.lit.generator_module import GeneratorModule
    from gennet.priors import GaussianMixturePrior

    shape = GeneratorModule(num_atoms=8, n_layers=2).generator.embedding_shape
    prior = GaussianMixturePrior(shape, num_components=2, dim=4).fit_(torch.randn(32, *shape, generator=torch.Generator().manual_seed(0)))
    path = tmp_path_factory.mktemp("prior") / "prior.pt"
    prior.save(path)
    return path


def compose(config: str, overrides: list[str], config_dir: str | None = None):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from gennet.cli.resolvers import register_resolvers
    from gennet.cli.startup import CONFIG_DIR

    register_resolvers()
    with initialize_config_dir(config_dir=config_dir or CONFIG_DIR, version_base="1.3"):
        return hydra_compose(config, overrides=overrides)


def in_process(function, config: str, overrides: list[str], capsys, config_dir: str | None = None) -> str:
    """``function(compose(config, overrides))``: exit 2 and one line on stderr, which is returned."""
    with pytest.raises(SystemExit) as exit_:
        function(compose(config, overrides, config_dir))
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_.value.code == 2 and len(lines) == 1, lines
    return lines[0]


# ------------------------------------------------------------------ families 1, 3: train_prior.py checks up front
def test_train_prior_checks_the_prior_and_the_checkpoint_before_the_work(generator, tmp_path, capsys):
    from gennet.cli.train_prior import train_prior

    marker = tmp_path / "payload_ran"
    payload = tmp_path / "evil.ckpt"
    payload.write_bytes(pickle.dumps({"state_dict": Payload(marker), "hyper_parameters": {}}))
    cases = [
        (["prior=mixture", "prior.dim=100000"], "prior"),  # larger than w (97·4·4 = 1552): would allocate 80 GB
        (["prior=mixture", "prior.num_components=100", "prior.dim=8", "fit_images=50"], "prior.num_components"),
        (["prior=mixture", "prior.dim=64", "fit_images=40"], "prior.dim"),
        (["prior=pca_flow", "fit_images=100"], "prior.dim"),  # 256 principal directions from 100 embeddings
        (["prior=mixture", "prior.num_components=2", "prior.dim=8", "ckpt_path=/nowhere/last.ckpt"], "ckpt_path"),
        (["prior=mixture", "prior.num_components=2", "prior.dim=8", f"ckpt_path={payload}"], "ckpt_path"),
    ]
    for overrides, key in cases:
        run_dir = tmp_path / "run"
        line = in_process(train_prior, "train_prior", [f"generator_ckpt={generator}", "logger=csv", *overrides,
                                                       f"paths.output_dir={run_dir}"], capsys)
        assert line.startswith(f"error: {key}:"), (overrides, line)
        assert not (run_dir / "embeddings.pt").exists()  # refused before the embeddings were computed
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.ckpt"]  # nothing written, not even the run directory


# ------------------------------------------------------------------ families 2, 4: a finished prior, a damaged cache
def test_a_finished_prior_is_kept_and_a_damaged_embeddings_cache_is_computed_again(generator, tmp_path, capsys):
    import shutil

    from gennet.cli.train_prior import train_prior
    from gennet.priors import load_prior

    run_dir = tmp_path / "run"
    args = [f"generator_ckpt={generator}", *MIXTURE]
    train_prior(compose("train_prior", [*args, f"paths.output_dir={run_dir}"]))
    capsys.readouterr()
    before = checksums(run_dir)
    line = in_process(train_prior, "train_prior", [*args, "prior.dim=16", "ckpt_path=last", f"paths.output_dir={run_dir}"],
                      capsys)
    assert line.startswith("error: hydra.run.dir:") and "prior.pt" in line
    assert checksums(run_dir) == before

    resumed = tmp_path / "resumed"  # an unfinished run whose embeddings.pt was cut short
    shutil.copytree(run_dir, resumed)
    for name in ("prior.pt", "metrics.json"):
        (resumed / name).unlink()
    cache = resumed / "embeddings.pt"
    cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    train_prior(compose("train_prior", [*args, "ckpt_path=last", f"paths.output_dir={resumed}"]))
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "embeddings.pt" in warnings[0] and "computing it again" in warnings[0], warnings
    a, b = load_prior(run_dir / "prior.pt"), load_prior(resumed / "prior.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))  # the same embeddings


# ------------------------------------------------------------------ families 5, 8: prior files and limits in sample.py
def test_sample_refuses_malformed_prior_files_and_requests_larger_than_memory(generator, prior_file, tmp_path, capsys):
    from gennet.cli.interpolate import interpolate
    from gennet.cli.sample import sample
    from gennet.cli.synthesize import CONFIG_DIR as SYNTHESIZE_CONFIG
    from gennet.cli.synthesize import run_synthesis

    content = torch.load(prior_file, weights_only=True)
    nan = {**content["state_dict"], "mean": torch.full_like(content["state_dict"]["mean"], float("nan"))}
    malformed = [{k: v for k, v in content.items() if k != "kind"}, {**content, "config": "mixture"},
                 {**content, "state_dict": {}}, {**content, "state_dict": nan},
                 {**content, "config": {**content["config"], "shape": [10**4, 10**4, 10**4], "dim": 8}}]
    for i, bad in enumerate(malformed):
        path = tmp_path / f"bad{i}.pt"
        torch.save(bad, path)
        for function, config in ((sample, "sample"), (interpolate, "interpolate")):
            line = in_process(function, config, [f"ckpt_path={generator}", f"prior_file={path}", "from_noise=true" if
                                                 config == "interpolate" else "seed=0", f"output={tmp_path / 'out.png'}"], capsys)
            assert line.startswith("error: prior_file:") and str(path) in line, line
    line = in_process(sample, "sample", [f"ckpt_path={generator}", "num_samples=1000000000", f"output={tmp_path / 'big.png'}"],
                      capsys)
    assert line.startswith("error: num_samples:") and "memory" in line
    line = in_process(run_synthesis, "synthesize", ["image=skimage:brick", "size=64", "synthesis.histogram_levels=1000000",
                                                    f"output={tmp_path / 'synth'}", "logger=none"], capsys, SYNTHESIZE_CONFIG)
    assert line.startswith("error: synthesis.histogram_levels:") and "memory" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"bad{i}.pt" for i in range(len(malformed))]


# ------------------------------------------------------------------ family 9: a full disk
def test_sample_onto_a_full_disk_is_one_line_and_leaves_no_partial_result(generator, prior_file, small_disk, tmp_path):
    disk = small_disk
    (disk / "earlier.png").write_bytes(b"an earlier grid" * 4000)
    (disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 200 * 1024))  # ~100 kB left: less than the 262 kB tensor
    before = tree(disk)
    args = [f"ckpt_path={generator}", f"prior_file={prior_file}", f"output={disk / 'grid.png'}"]
    line = one_line(run_script("sample", args, tmp_path))
    assert line.startswith("error: output:") and "No space left on device" in line, line
    assert tree(disk) == before  # no grid.png without its .pt, no temporary, the earlier files byte for byte
    (disk / "filler").unlink()
    again = run_script("sample", args, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]  # the next run is not refused: nothing was left behind
    assert (disk / "grid.png").is_file() and (disk / "grid.pt").is_file()


# ------------------------------------------------------------------ families 6, 7: regress.py's cache
def test_regress_refuses_a_cache_dir_that_is_a_file_before_parsing(tmp_path, capsys):
    from gennet.cli.regress import regress

    (tmp_path / "a_file").write_text("x")
    for cache_dir in (tmp_path / "a_file", tmp_path / "a_file" / "under"):
        line = in_process(regress, "regress", [f"data.cache_dir={cache_dir}", f"paths.output_dir={tmp_path / 'run'}"], capsys)
        assert line.startswith("error: data.cache_dir:"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"] and (tmp_path / "a_file").read_text() == "x"


# ------------------------------------------------------------------ family 10: two runs into one directory
def concurrently(*runs) -> list:
    results = [None] * len(runs)

    def start(i, run):
        results[i] = run()

    threads = [threading.Thread(target=start, args=(i, run)) for i, run in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def exactly_one_ran(results, finished: Path) -> None:
    statuses = sorted(r.returncode for r in results)
    assert statuses == [0, 2], [r.stderr[-1500:] for r in results]
    refused = next(r for r in results if r.returncode == 2)
    line = one_line(refused)
    assert "in use by another run" in line or "already holds" in line, line
    assert finished.is_file()


def test_two_runs_into_one_directory_exactly_one_runs(generator, tmp_path):
    train_dir, prior_dir, synth_dir = tmp_path / "train", tmp_path / "prior", tmp_path / "synth"
    args = [*TINY, "logger=csv", "test=false", "callbacks.reconstruction_grids=null"]
    exactly_one_ran(concurrently(lambda: run_train(args, train_dir), lambda: run_train(args, train_dir)),
                    train_dir / "metrics.json")
    prior = [f"generator_ckpt={generator}", *MIXTURE, f"hydra.run.dir={prior_dir}"]
    exactly_one_ran(concurrently(lambda: run_script("train_prior", prior, tmp_path), lambda: run_script("train_prior", prior, tmp_path)),
                    prior_dir / "prior.pt")
    synth = ["image=skimage:brick", "size=32", "synthesis.n_iter=2", "num_samples=1", "metrics=false", "logger=none",
             f"output={synth_dir}"]
    exactly_one_ran(concurrently(lambda: run_script("synthesize", synth, tmp_path), lambda: run_script("synthesize", synth, tmp_path)),
                    synth_dir / "metrics.json")
    assert_no_temporaries(train_dir, prior_dir, synth_dir)
    assert not list(tmp_path.rglob(".gennet.lock"))  # every lock released
