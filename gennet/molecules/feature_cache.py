"""The on-disk cache of :class:`~gennet.molecules.ScatteringFeatures`: rows filled as molecules are computed, checked
block by block when read (:mod:`gennet.cache_record`).

One folder per parameter set holds ``features.npy`` (``(n_molecules, n_features)`` float32, memory-mapped), ``done.npy``
(the mask of the rows computed) and ``features.npy.record.json``: the shape, the dtype and, per block of
:data:`BLOCK_ROWS` rows, the sha256 of the block's features and mask as they were last flushed. A reader opens the
table read-only first (a truncated file is not extended with zeros, as a read-write memory map would), checks the
shape, dtype and size, then each block holding computed rows against its checksum: a block that fails is computed again
(its rows marked not done), with one warning line for the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..cache_record import digest, read_record, warn_recompute, write_record
from ..files import atomic_path

__all__ = ["BLOCK_ROWS", "FeatureCache"]

#: Rows per checksummed block (~1 MB of features for the default parameters).
BLOCK_ROWS = 1024


class FeatureCache:
    """The cache in ``folder`` of a ``(rows, columns)`` float32 table: :attr:`table` (memory map) and :attr:`done` (bool
    mask), verified on opening; :meth:`flush` writes what changed and the checksums of the blocks touched."""

    def __init__(self, folder: str | Path, rows: int, columns: int) -> None:
        folder = Path(folder)
        self.path, self.mask_path = folder / "features.npy", folder / "done.npy"
        self.shape = (int(rows), int(columns))
        self.blocks: dict[str, str] = {}
        self.touched: set[int] = set()
        opened = self._verified() if self.path.exists() or self.mask_path.exists() else None
        if opened is None:
            self.table = np.lib.format.open_memmap(self.path, mode="w+", dtype=np.float32, shape=self.shape)
            self.done = np.zeros(self.shape[0], dtype=bool)
            self.blocks = {}
        else:
            self.done = opened
            self.table = np.load(self.path, mmap_mode="r+")

    def _block(self, index: int) -> slice:
        return slice(index * BLOCK_ROWS, min((index + 1) * BLOCK_ROWS, self.shape[0]))

    def _verified(self) -> np.ndarray | None:
        """The mask of the rows that may be read (blocks failing their checksums unmarked), or ``None`` (with one
        warning) when the files cannot be used at all."""
        record = read_record(self.path)
        expected = {"shape": list(self.shape), "dtype": "float32", "block_rows": BLOCK_ROWS}
        if record is None or any(record.get(k) != v for k, v in expected.items()) or not isinstance(record.get("blocks"), dict):
            warn_recompute(self.path, "it has no record of this table's shape, dtype and block checksums")
            return None
        try:
            table = np.load(self.path, mmap_mode="r")  # read-only: never extends a truncated file
            mask = np.load(self.mask_path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:  # e.g. "mmap length is greater than file size"
            warn_recompute(self.path, f"it cannot be read whole ({str(error).splitlines()[0][:120]})")
            return None
        if table.shape != self.shape or table.dtype != np.float32 or mask.shape != (self.shape[0],) or mask.dtype != bool:
            warn_recompute(self.path, f"it holds {table.dtype} {table.shape}, not float32 {self.shape}")
            return None
        mask = mask.copy()
        bad = []
        for index in range(-(-self.shape[0] // BLOCK_ROWS)):
            rows = self._block(index)
            if not mask[rows].any():
                continue
            if record["blocks"].get(str(index)) != digest(
                    np.ascontiguousarray(table[rows]), np.ascontiguousarray(mask[rows])):
                bad.append(index)
                mask[rows] = False
        del table
        self.blocks = {k: v for k, v in record["blocks"].items() if k.isdigit() and int(k) not in bad}
        if bad:
            count = sum(self._block(i).stop - self._block(i).start for i in bad)
            warn_recompute(self.path, f"{len(bad)} block(s) of rows ({count} molecules) do not match their checksums")
            self.touched.update(bad)
        return mask

    def write(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Store ``values`` at ``rows`` and mark them done (on disk at the next :meth:`flush`)."""
        self.table[rows] = values
        self.done[rows] = True
        self.touched.update(int(i) for i in np.unique(np.asarray(rows) // BLOCK_ROWS))

    def flush(self) -> None:
        """The table, then the mask, then the checksums of the blocks touched: an interruption between two of these
        leaves blocks whose checksums fail, which the next reader computes again (never reads as computed)."""
        self.table.flush()
        with atomic_path(self.mask_path, key="data.cache_dir") as temporary:
            np.save(temporary, self.done)
        for index in sorted(self.touched):
            rows = self._block(index)
            self.blocks[str(index)] = digest(np.ascontiguousarray(self.table[rows]), np.ascontiguousarray(self.done[rows]))
        self.touched.clear()
        write_record(self.path, {"shape": list(self.shape), "dtype": "float32", "block_rows": BLOCK_ROWS, "blocks": self.blocks})
