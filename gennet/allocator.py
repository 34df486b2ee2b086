"""Keep freed memory in the process: glibc's ``mallopt`` thresholds for long optimizations on the CPU.

An L-BFGS synthesis (:func:`~gennet.stationary.synthesize`) allocates and frees ~2.5 GiB per objective evaluation
and sample at 256² (≈1,000 tensors of the forward and backward passes). With glibc's default, dynamic thresholds
(at most 32 MiB for ``mmap``, twice that for trimming the heap) much of it goes back to the kernel after every
evaluation and is page-faulted in again at the next: measured with 1 thread, batch of 4 (the joint model), half of
the CPU time was system time (0.29 s of 0.56 s per evaluation and sample; ``benchmarks/bench_fields.py`` notes).
:func:`retain_freed_memory` raises both thresholds, so that freed blocks stay in the heap for the next evaluation:
the system time falls to < 0.01 s per evaluation and sample; the resident memory then stays at its peak until the
process ends (what a single synthesis run or benchmark wants).

Linux with glibc only (``mallopt``, ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` of ``<malloc.h>``); elsewhere,
or when the user has set ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` (glibc's own environment
variables), it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["MMAP_THRESHOLD_CAP", "M_MMAP_THRESHOLD", "M_TRIM_THRESHOLD", "THRESHOLD", "retain_freed_memory"]

#: ``mallopt`` parameters of glibc's ``<malloc.h>``.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: Both thresholds, in bytes: 1 GiB (allocations below it come from the heap, and up to it of free heap is kept).
THRESHOLD = 1 << 30

#: The largest ``M_MMAP_THRESHOLD`` some glibc versions accept (``HEAP_MAX_SIZE / 2`` on 64-bit): the fallback.
MMAP_THRESHOLD_CAP = 32 << 20

_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def retain_freed_memory(threshold: int = THRESHOLD) -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` to ``threshold`` bytes (process-wide, for the
    allocations that follow); returns whether it did.

    Does nothing (returns ``False``) off Linux, without glibc (e.g. musl), or when either of glibc's environment
    variables ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` is set (the user's choice wins). A glibc
    that refuses an ``mmap`` threshold above :data:`MMAP_THRESHOLD_CAP` gets that cap (the trim threshold has none).

    Raises:
        ValueError: ``threshold`` < 1 or ≥ 2³¹ (``mallopt`` takes a C ``int``).
    """
    if not 0 < threshold < 2**31:
        raise ValueError(f"threshold must be in [1, 2**31), got {threshold}")
    if not sys.platform.startswith("linux") or any(name in os.environ for name in _ENVIRONMENT):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):  # glibc only (musl: no such mallopt)
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap = bool(mallopt(M_MMAP_THRESHOLD, threshold)) or bool(mallopt(M_MMAP_THRESHOLD, min(threshold, MMAP_THRESHOLD_CAP)))
    return bool(mallopt(M_TRIM_THRESHOLD, threshold)) and mmap
