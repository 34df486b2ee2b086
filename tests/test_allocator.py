"""glibc's malloc thresholds: set where glibc is, left to the user's environment variables, bad values refused."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import pytest

from gennet.allocator import retain_freed_memory


def _glibc() -> bool:
    try:
        return hasattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "gnu_get_libc_version")
    except OSError:
        return False


def test_the_thresholds_are_set_under_glibc_only(monkeypatch):
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    assert retain_freed_memory() is (sys.platform.startswith("linux") and _glibc())


def test_the_users_environment_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert retain_freed_memory() is False


@pytest.mark.parametrize("threshold", [0, 2**31])
def test_bad_thresholds(threshold):
    with pytest.raises(ValueError, match="threshold"):
        retain_freed_memory(threshold)
