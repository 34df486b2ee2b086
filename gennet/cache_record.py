"""Caches that prove themselves: beside each cached file, ``<name>.record.json`` says what the file holds — the shape and
dtype of each array, the checksum (sha256) of the bytes, whole or per block of rows for a cache filled incrementally —
and what it was computed from. A reader verifies the file against its record before using any of it; a file without a
record, with other bytes, arrays of other shapes, or computed from something else is not used: it is computed again,
with one warning line (:func:`warn_recompute`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .files import write_text_atomic

__all__ = ["digest", "file_digest", "read_record", "record_path", "verify_file", "warn_recompute", "write_record"]

#: Bytes hashed per read of a file.
CHUNK = 1 << 22


def record_path(path: str | Path) -> Path:
    """``<path>.record.json``: where the record of ``path`` lives."""
    path = Path(path)
    return path.with_name(path.name + ".record.json")


def digest(*buffers) -> str:
    """sha256 (hex) of the bytes of ``buffers`` (``bytes``, numpy arrays, anything with the buffer protocol) in turn."""
    h = hashlib.sha256()
    for buffer in buffers:
        h.update(memoryview(buffer).cast("B"))
    return h.hexdigest()


def file_digest(path: str | Path) -> tuple[int, str]:
    """``(size in bytes, sha256 hex)`` of a file."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def write_record(path: str | Path, record: dict[str, Any]) -> None:
    """Write ``record`` (plain types) as ``<path>.record.json`` (through a temporary file and a rename)."""
    write_text_atomic(record_path(path), json.dumps(record, indent=1, sort_keys=True) + "\n", key="cache")


def read_record(path: str | Path) -> dict[str, Any] | None:
    """The record of ``path``, or ``None`` if there is none or it cannot be read as a mapping."""
    try:
        record = json.loads(record_path(path).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def verify_file(path: str | Path, record: dict[str, Any] | None, expected: dict[str, Any]) -> str | None:
    """Why the cached file ``path`` must not be used (``None``: it may): no record, a record not made for ``expected``
    (each of its entries must be in the record, equal), a size or checksum other than the record's."""
    if record is None:
        return "it has no readable record (.record.json) of what it holds"
    different = [key for key, value in expected.items() if record.get(key) != value]
    if different:
        return f"it was computed for another {different[0]}"
    try:
        size, sha256 = file_digest(path)
    except OSError as error:
        return f"it cannot be read ({error.strerror or type(error).__name__})"
    if size != record.get("bytes") or sha256 != record.get("sha256"):
        return f"its bytes are not those recorded ({size} bytes, {record.get('bytes')} recorded; checksum differs)"
    return None


def warn_recompute(path: str | Path, reason: str) -> None:
    """One warning line: the cache ``path`` is not used because of ``reason``, and is computed again."""
    print(f"warning: cache '{path}' not used: {reason}; computing it again", file=sys.stderr)
