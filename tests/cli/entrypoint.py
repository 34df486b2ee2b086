"""Running the real entry points (``python train.py``, ``sample.py``, …) in their own processes, as users do (shared
by the CLI tests).

Each run is a separate process with its own exit status, standard output and error (file descriptors 1 and 2, so
everything the run writes — tracebacks, Hydra's and Lightning's logs, progress bars — is captured), and its own
working directory and environment. To spare every run the ~6 s of importing torch, Lightning and Hydra, the processes
are forked from a server that has imported them and nothing else (``multiprocessing``'s *forkserver*: the server is
started once per test session and runs no code of gennet, so every run starts from a fresh state). The script
then runs as ``__main__`` (:func:`runpy.run_path`) with ``sys.argv`` as on the command line, uncaught exceptions
print their traceback and give status 1 as in a plain interpreter, and ``atexit`` handlers (wandb's) run before the
process exits. ``isolated=True`` starts a plain ``python script.py`` instead (the distributed runs, whose launcher
starts further interpreters).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1"]

#: imported once by the server (no code of the project runs there: importing gennet.cli runs no model). Not wandb: it
#: makes a temporary media folder when imported, which the first run's exit would delete under the later runs.
PRELOAD = ["torch", "torchvision", "lightning.pytorch", "hydra", "omegaconf", "matplotlib.pyplot", "torchmetrics",
           "gennet.cli.train", "gennet.cli.sample", "gennet.cli.synthesize", "tests.cli.entrypoint"]

_context = None


def _forkserver():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_SILENT="true", WANDB_DISABLE_GIT="true", PYTHONUNBUFFERED="1")
    return env


def _run_as_main(script: str, args: list[str], cwd: str, env: dict[str, str], stdout: str, stderr: str) -> None:
    """In the forked process: ``python SCRIPT ARGS`` from ``cwd`` with ``env``, fds 1 and 2 sent to the two files."""
    import atexit
    import runpy
    import traceback

    for fd, path in ((1, stdout), (2, stderr)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [script, *args]
    sys.path[0] = str(Path(script).parent)  # as `python script.py` puts the script's folder first
    status = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        if stop.code is None:
            status = 0
        elif isinstance(stop.code, int):
            status = stop.code
        else:
            print(stop.code, file=sys.stderr)
            status = 1
    except BaseException:  # noqa: BLE001 — what the interpreter does with an uncaught exception
        traceback.print_exc()
        status = 1
    try:
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _run(script: str, args: list[str], cwd: Path, timeout: int, isolated: bool) -> subprocess.CompletedProcess:
    path = str(REPO / f"{script}.py")
    env = _environment()
    if isolated:
        return subprocess.run([sys.executable, path, *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    with tempfile.TemporaryDirectory() as scratch:
        out, err = os.path.join(scratch, "stdout"), os.path.join(scratch, "stderr")
        process = _forkserver().Process(target=_run_as_main, args=(path, list(args), str(cwd), env, out, err))
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired([path, *args], timeout)
        read = lambda name: Path(name).read_text(errors="backslashreplace") if Path(name).exists() else ""  # noqa: E731
        # killed by a signal: −signum, as subprocess reports it
        return subprocess.CompletedProcess([path, *args], process.exitcode, read(out), read(err))


def assert_no_temporaries(*folders: Path) -> None:
    """No temporary file of :func:`gennet.files.atomic_path` (hidden, ``.<stem>.<random><suffix>``) nor of the checkpoint
    writer (``<name>.tmp-<pid>``) is left under ``folders`` after a run: every result was renamed into place (Hydra's
    ``.hydra/`` folder and wandb's run folder are their own records)."""
    left = [str(p) for folder in folders for p in Path(folder).rglob("*")
            if p.is_file() and (p.name.startswith(".") or ".tmp-" in p.name)
            and not {".hydra", "wandb"} & set(p.relative_to(folder).parts)]
    assert not left, left


def run_train(args: list[str], run_dir: Path, timeout: int = 600, isolated: bool = False) -> subprocess.CompletedProcess:
    """``python train.py ARGS hydra.run.dir=RUN_DIR`` from the parent of ``RUN_DIR``, with wandb kept offline and away
    from the network."""
    return _run("train", [*args, f"hydra.run.dir={run_dir}"], run_dir.parent, timeout, isolated)


def run_script(script: str, args: list[str], cwd: Path, timeout: int = 600, isolated: bool = False) -> subprocess.CompletedProcess:
    """``python <script>.py ARGS`` (sample, interpolate, evaluate, synthesize, …) from ``cwd``."""
    return _run(script, list(args), cwd, timeout, isolated)
