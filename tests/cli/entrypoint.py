"""Running the real entry point ``python train.py`` in a subprocess, as users do (shared by the CLI tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1"]


def run_train(args: list[str], run_dir: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python train.py ARGS hydra.run.dir=RUN_DIR`` with wandb kept offline and away from the network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_SILENT="true", WANDB_DISABLE_GIT="true", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, str(REPO / "train.py"), *args, f"hydra.run.dir={run_dir}"],
        cwd=run_dir.parent, env=env, capture_output=True, text=True, timeout=timeout,
    )


def run_script(script: str, args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python <script>.py ARGS`` (sample, interpolate, evaluate) from ``cwd``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, str(REPO / f"{script}.py"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
