"""Results written as a unit (:func:`gennet.files.written_together`, issue 32): a result and its companions appear
together or not at all; a full disk is one :class:`~gennet.files.WriteError` naming the file, with nothing of the
result left and every earlier file byte for byte. The full disk is a real one: a 1 MB tmpfs (root only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from gennet.errors import ConfigError
from gennet.files import WriteError, save_torch_atomic, write_text_atomic, written_together


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"dir" for p in sorted(folder.rglob("*"))}


def test_the_files_of_a_block_appear_together_when_it_ends(tmp_path):
    with written_together():
        write_text_atomic(tmp_path / "metrics.json", "{}")
        save_torch_atomic(torch.ones(3), tmp_path / "prior.pt")
        assert all(name.startswith(".") for name in listing(tmp_path))  # only temporaries so far
    assert sorted(listing(tmp_path)) == ["metrics.json", "prior.pt"]


def test_a_block_that_raises_leaves_every_earlier_file_and_nothing_new(tmp_path):
    (tmp_path / "metrics.json").write_text("earlier")
    before = listing(tmp_path)
    with pytest.raises(RuntimeError):
        with written_together(folders=[tmp_path / "samples"]):
            write_text_atomic(tmp_path / "metrics.json", "new")
            write_text_atomic(tmp_path / "samples" / "grid.txt", "new")
            raise RuntimeError("the second write failed")
    assert listing(tmp_path) == before


def test_exclusive_targets_never_replace_a_file_written_meanwhile(tmp_path):
    with pytest.raises(ConfigError) as error:
        with written_together("output", exclusive=True):
            write_text_atomic(tmp_path / "grid.png", "ours")
            write_text_atomic(tmp_path / "grid.pt", "ours")
            (tmp_path / "grid.pt").write_text("another run's")  # appears before the block ends
    assert error.value.key == "output" and "another run" in error.value.message
    assert listing(tmp_path) == {"grid.pt": b"another run's"}  # grid.png was published, then taken back


def test_a_full_disk_is_one_error_and_leaves_nothing_of_the_result(small_disk):
    full_disk = small_disk
    (full_disk / "earlier.png").write_bytes(b"an earlier grid" * 1000)
    before = listing(full_disk)
    for exclusive in (True, False):
        with pytest.raises(WriteError) as error:
            with written_together("output", exclusive=exclusive):
                write_text_atomic(full_disk / "small.json", "{}")
                save_torch_atomic(torch.zeros(2**20), full_disk / "big.pt")  # 4 MB on a 1 MB disk
        assert error.value.key == "output" and os.strerror(28) in error.value.message and "big.pt" in error.value.message
        assert listing(full_disk) == before
    with pytest.raises(WriteError):  # a single file too
        save_torch_atomic(torch.zeros(2**20), full_disk / "alone.pt")
    assert listing(full_disk) == before
