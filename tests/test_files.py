"""The atomic writers of :mod:`gennet.files`: the target holds the old content or the new one, never a part; the new
file gets the permissions a plain write would give it; nothing is left behind but the target."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gennet.files import atomic_path, save_figure_atomic, save_image_atomic, save_torch_atomic, write_text_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def umask():
    """Set the process umask for one test, restored after."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_umask_permissions_as_a_plain_write(tmp_path, umask, mask):
    umask(mask)
    write_text_atomic(tmp_path / "atomic.json", "{}\n")
    (tmp_path / "plain.json").write_text("{}\n")
    assert _mode(tmp_path / "atomic.json") == _mode(tmp_path / "plain.json") == 0o666 & ~mask
    assert _listing(tmp_path) == ["atomic.json", "plain.json"]


def test_replacing_a_file_keeps_its_permissions(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "report.md"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o640
    assert _listing(tmp_path) == ["report.md"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "samples.pt"
    target.write_bytes(b"earlier result")
    with pytest.raises(type(error)):
        with atomic_path(target) as temporary:
            assert temporary.parent == tmp_path and temporary.suffix == ".pt" and temporary != target
            temporary.write_bytes(b"half a new fi")
            raise error
    assert target.read_bytes() == b"earlier result"
    assert _listing(tmp_path) == ["samples.pt"]


def test_a_killed_writer_leaves_the_old_file_whole(tmp_path):
    """SIGKILL in the middle of a write (no clean-up can run): the target still holds the earlier content; what is left
    is a hidden temporary file beside it, never a truncated target."""
    target = tmp_path / "prior.pt"
    target.write_bytes(b"earlier prior")
    code = ("import os, signal, sys\nfrom gennet.files import atomic_path\n"
            f"with atomic_path({str(target)!r}) as t:\n"
            "    t.write_bytes(b'half')\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert target.read_bytes() == b"earlier prior"
    assert all(name == "prior.pt" or name.startswith(".prior.") for name in _listing(tmp_path))


def test_a_missing_folder_is_an_error_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "missing" / "x.json", "{}")
    assert _listing(tmp_path) == []


def test_torch_figure_and_image_writers(tmp_path):
    from matplotlib.figure import Figure
    from PIL import Image

    tensor = torch.arange(6.0).reshape(2, 3)
    save_torch_atomic({"x": tensor}, tmp_path / "t.pt")
    assert torch.equal(torch.load(tmp_path / "t.pt", weights_only=True)["x"], tensor)

    figure = Figure(figsize=(1, 1))
    figure.add_subplot().plot([0, 1], [1, 0])
    save_figure_atomic(figure, tmp_path / "f.png", dpi=50)
    save_figure_atomic(figure, tmp_path / "f.pdf")  # the format follows the suffix, as with savefig(path)
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"
    assert Image.open(tmp_path / "f.png").size == (50, 50)

    frames = [Image.new("RGB", (4, 4), (255 * k, 0, 0)) for k in range(2)]
    save_image_atomic(frames[0], tmp_path / "i.png")
    save_image_atomic(frames[0], tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=10, loop=0)
    assert Image.open(tmp_path / "i.png").getpixel((0, 0)) == (0, 0, 0)
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 2
    assert _listing(tmp_path) == ["a.gif", "f.pdf", "f.png", "i.png", "t.pt"]
