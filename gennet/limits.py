"""Limits checked before the work where memory is at stake: the bytes a request would need against the memory this
machine has free (samples, sizes, histogram levels, widths read from a file). A request that cannot fit is refused in
one line naming its key, instead of failing after minutes of work — or exhausting the machine's memory.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

__all__ = ["available_memory", "check_memory", "format_bytes", "tensor_bytes"]


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes of memory this process can still use: ``MemAvailable`` of ``/proc/meminfo`` (free memory and caches the
    kernel can drop), lowered to what a cgroup memory limit leaves (``memory.max − memory.current``, cgroup v2; or
    ``memory.limit_in_bytes − memory.usage_in_bytes``, v1). ``None`` where neither can be read (not Linux): no limit."""
    free = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        free = None
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 1 << 60:
            free = limit - usage if free is None else min(free, limit - usage)
            break
    if free is None and hasattr(os, "sysconf"):
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            free = None
    return None if free is None else max(free, 0)


def format_bytes(count: float) -> str:
    """``1.5 GB``-style (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(count) < 1000 or unit == "PB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} PB"


def tensor_bytes(*shapes_and_sizes: tuple) -> int:
    """Bytes of tensors given as ``(shape, bytes per element)`` pairs."""
    total = 0
    for shape, size in shapes_and_sizes:
        count = 1
        for n in shape:
            count *= int(n)
        total += count * int(size)
    return total


def check_memory(key: str, needed: int, what: str, available: int | None = None) -> None:
    """Refuse a request that needs ``needed`` bytes of memory where fewer are free (:func:`available_memory`, or
    ``available``).

    Raises:
        ConfigError: ``key``, saying what needs how much and how much there is.
    """
    free = available_memory() if available is None else available
    if free is not None and needed > free:
        raise ConfigError(key, f"{what} would need {format_bytes(needed)} of memory, more than the {format_bytes(free)} "
                               "free here; ask for less")
