"""The run-directory lock (:mod:`gennet.run_lock`, issue 32): one holder at a time, across processes; released at exit;
the lock of a process that died without its clean-up (SIGKILL) is detected as stale and taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gennet.errors import ConfigError
from gennet.run_lock import LOCK_NAME, run_lock

HOLD = ("import sys, time\nfrom gennet.run_lock import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(float(sys.argv[2]))\n")


def holder(folder: Path, seconds: float) -> subprocess.Popen:
    """A process holding ``folder``'s lock for ``seconds`` (returns once it holds it)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), str(seconds)], stdout=subprocess.PIPE, text=True,
                               env=env)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    first = holder(tmp_path, 60)
    try:
        with pytest.raises(ConfigError) as error:
            with run_lock(tmp_path):
                pass
        assert error.value.key == "hydra.run.dir" and "in use by another run" in error.value.message
        assert f"pid {first.pid}" in error.value.message
    finally:
        first.kill()
        first.wait()


def test_the_lock_is_released_at_exit_and_by_a_normal_end(tmp_path):
    first = holder(tmp_path, 0)
    assert first.wait(timeout=60) == 0
    assert not (tmp_path / LOCK_NAME).exists()
    with run_lock(tmp_path) as path:
        assert path.exists()
        with pytest.raises(ConfigError):  # also within one process: a second claim is refused
            with run_lock(tmp_path):
                pass
    assert not path.exists()


def test_the_lock_of_a_killed_run_is_stale_and_taken_over(tmp_path, capsys):
    first = holder(tmp_path, 60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert (tmp_path / LOCK_NAME).exists()  # no clean-up ran
    with run_lock(tmp_path):
        assert "taken over" in capsys.readouterr().err
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_folder_made_for_the_lock_is_removed_if_left_empty(tmp_path):
    with run_lock(tmp_path / "new" / "run"):
        pass
    assert not (tmp_path / "new" / "run").exists()
    with run_lock(tmp_path / "kept"):
        (tmp_path / "kept" / "result.txt").write_text("x")
    assert (tmp_path / "kept" / "result.txt").exists()


def test_concurrent_claims_give_one_holder(tmp_path):
    """Eight processes claim one folder at once: exactly one holds it; the others are refused."""
    code = ("import sys, time\nfrom gennet.errors import ConfigError\nfrom gennet.run_lock import run_lock\n"
            "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
            "try:\n    with run_lock(sys.argv[1]):\n        time.sleep(2)\n        print('ran')\n"
            "except ConfigError:\n    print('refused')\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    start = time.time() + 3
    processes = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), str(start)], stdout=subprocess.PIPE, text=True,
                                  env=env) for _ in range(8)]
    outcomes = sorted(p.communicate(timeout=120)[0].strip() for p in processes)
    assert outcomes == ["ran"] + ["refused"] * 7, outcomes
