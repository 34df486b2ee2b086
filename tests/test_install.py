"""``pip install .`` (not editable) into a fresh virtual environment, then its ``gennet-train`` for one tiny step from a
folder outside the repository: the console script must find its Hydra configs inside the installed package
(``gennet/conf``, package data), and import the installed copy of gennet, not the checkout.

The environment does not download its dependencies again: a ``.pth`` file in its site-packages puts the running
interpreter's site-packages (torch, Lightning, Hydra, …) on its path, and gennet itself is installed with
``--no-deps --no-build-isolation`` (the running interpreter's setuptools and wheel build it, offline).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.cli.entrypoint import REPO, TINY

#: What a source distribution of gennet holds (pyproject.toml's build reads these).
SOURCES = ("pyproject.toml", "README.md", "gennet")


def _environment() -> dict[str, str]:
    """The variables of this process, without anything that would put the checkout on the path, wandb kept offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "PYTHON", "PIP_"))}
    env.update(WANDB_SILENT="true", WANDB_MODE="offline", WANDB_DISABLE_GIT="true", PYTHONUNBUFFERED="1", PYTHONNOUSERSITE="1",
               PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _run(command: list, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=cwd, env=_environment(), capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_non_editable_install_trains_from_any_folder(tmp_path):
    for name in ("setuptools", "pip"):  # the build backend of pyproject.toml and the installer
        assert importlib.util.find_spec(name) is not None, f"{name} must be importable to build gennet without isolation"
    # a copy of the sources, so that the build writes its build/ and *.egg-info there, not into the checkout
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    # a fresh environment whose dependencies are this interpreter's (a plain path line: the .pth files there, such as
    # an editable install of gennet, are not read)
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(environment)
    python = environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site_packages = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "_gennet_test_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))

    # pyproject.toml's build requirements, as the environment sees them (setuptools ≥ 70.1 brings its own wheel)
    backend = _run([python, "-c", "import setuptools.build_meta, wheel"], tmp_path)
    assert backend.returncode == 0, "setuptools and wheel must be importable to build gennet: " + backend.stderr[-1000:]
    install = _run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", source], tmp_path)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    shutil.rmtree(source)  # nothing may be read from the sources any more

    where = tmp_path / "elsewhere"  # outside the repository
    where.mkdir()
    imported = _run([python, "-c", "import gennet; print(gennet.__file__)"], where)
    assert imported.returncode == 0, imported.stderr[-2000:]
    installed = Path(imported.stdout.strip()).resolve()
    assert installed.is_relative_to(site_packages.resolve()) and not installed.is_relative_to(REPO.resolve()), installed
    assert (installed.parent / "conf" / "train.yaml").is_file()  # the configs are package data

    script = environment / ("Scripts/gennet-train.exe" if os.name == "nt" else "bin/gennet-train")
    run_dir = where / "run"
    train = _run([script, *TINY, "test=false", "logger=csv",
                  "callbacks.reconstruction_grids=null", f"hydra.run.dir={run_dir}"], where, timeout=600)
    assert train.returncode == 0, train.stdout[-2000:] + train.stderr[-3000:]
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
