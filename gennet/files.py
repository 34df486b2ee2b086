"""Writing result files so that an interruption never leaves a truncated one: a temporary file beside the
target, flushed to disk and renamed over it only once it is complete (``os.replace`` is atomic on POSIX within one
file system). The file gets the permissions a plain ``open(path, "w")`` would give it: the umask's for a new file,
the earlier file's mode when one is replaced.

A result and its companions (a grid ``.png`` and its ``.pt``, ``prior.pt`` and ``metrics.json``) are written as a unit
with :func:`written_together`: every write inside the block goes to its temporary file, and the files appear together
when the block ends, or — when a write fails or the block raises — none of them does and every earlier file keeps its
bytes. A write that fails for want of space or on a failing device (``ENOSPC``, ``EDQUOT``, ``EIO``, ``EROFS``,
``EFBIG``) is a :class:`WriteError`: one line naming the key and the file.
"""

from __future__ import annotations

import contextvars
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError

__all__ = ["WriteError", "atomic_path", "written_together", "write_text_atomic", "save_torch_atomic",
           "save_figure_atomic", "save_image_atomic"]

#: errors of the storage rather than of the program: reported in one line, never a traceback
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG)


class WriteError(ConfigError):
    """A result that could not be written (a full or failing disk): ``key`` names the output; nothing of it is left."""


def _write_error(error: BaseException, path: Path, key: str) -> WriteError | None:
    """The :class:`WriteError` for ``error`` if the storage failed — an ``OSError`` of :data:`DISK_ERRORS` in the chain
    of exceptions, or a writer's ``RuntimeError`` (torch's zip writer says "unexpected pos") with no free block left in
    the folder's file system — else ``None``."""
    reason, seen = None, error
    while seen is not None and reason is None:
        if isinstance(seen, OSError) and seen.errno in DISK_ERRORS:
            reason = seen.strerror or os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    if reason is None and isinstance(error, RuntimeError):
        try:
            if os.statvfs(path.parent).f_bavail == 0:
                reason = os.strerror(errno.ENOSPC)
        except OSError:
            pass
    if reason is None:
        return None
    return WriteError(key, f"cannot write '{path}': {reason}; nothing of this result was written, earlier files are kept")


def _umask() -> int:
    """The process's umask (read from ``/proc`` where it can be, which leaves it untouched; else set and restored)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """The permission bits a plain write of ``path`` would leave: the existing file's, else ``0o666 & ~umask``."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


class _Group:
    """The files of one :func:`written_together` block: ``(temporary, target)`` pairs waiting to be published."""

    def __init__(self, key: str, exclusive: bool) -> None:
        self.key, self.exclusive = key, exclusive
        self.pending: list[tuple[Path, Path]] = []

    def discard(self) -> None:
        for temporary, _ in self.pending:
            temporary.unlink(missing_ok=True)
        self.pending.clear()

    def publish(self) -> None:
        """Move every temporary onto its target; if one move fails, undo the moves made (earlier files restored from
        hard links taken before) and raise."""
        done: list[tuple[Path, Path | None]] = []
        try:
            for temporary, target in self.pending:
                backup = None
                if self.exclusive:
                    _link_new(temporary, target, self.key)
                    temporary.unlink(missing_ok=True)
                else:
                    if target.exists():
                        backup = target.with_name(f".{target.name}.{os.getpid()}.earlier")
                        backup.unlink(missing_ok=True)
                        os.link(target, backup)
                    os.replace(temporary, target)
                done.append((target, backup))
        except BaseException:
            for target, backup in reversed(done):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink(missing_ok=True)
            raise
        finally:
            self.discard()
            for _, backup in done:
                if backup is not None:
                    backup.unlink(missing_ok=True)


def _link_new(temporary: Path, target: Path, key: str) -> None:
    """``temporary`` published as ``target`` only if no file has that name (a hard link fails if one has: two runs
    writing the same result never overwrite each other)."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise ConfigError(key, f"'{target}' was written by another run meanwhile; choose another name") from None
    except OSError as error:  # a file system without hard links: check, then rename
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if target.exists():
            raise ConfigError(key, f"'{target}' was written by another run meanwhile; choose another name") from None
        os.replace(temporary, target)


_GROUP: contextvars.ContextVar[_Group | None] = contextvars.ContextVar("gennet_written_together", default=None)


@contextmanager
def written_together(key: str = "output", exclusive: bool = False, folders=()) -> Iterator[None]:
    """Every :func:`atomic_path` write inside the block (the savers of this module, the image grids, …) is kept in its
    temporary file until the block ends; then all the files are moved into place, or, if the block raised or a move
    failed, none is (temporaries removed, every earlier file as it was). ``exclusive``: the targets must not exist
    (outputs that never replace an earlier result): a target another process wrote meanwhile is refused, not replaced.

    ``folders`` (with their parents) are created first; when nothing is published, those created here are removed.

    Raises:
        WriteError: ``key``, for a full or failing disk (:data:`DISK_ERRORS`).
        ConfigError: ``key``, with ``exclusive``, for a target that appeared during the block.
    """
    created = _make_folders(folders, key)
    group = _Group(key, exclusive)
    token = _GROUP.set(group)
    try:
        try:
            yield
        except BaseException:
            group.discard()
            raise
        finally:
            _GROUP.reset(token)
        try:
            group.publish()
        except OSError as error:
            failure = _write_error(error, Path(error.filename or "?"), key)
            if failure is not None:
                raise failure from None
            raise
    except BaseException:
        for folder in reversed(created):
            try:
                folder.rmdir()  # only if empty
            except OSError:
                pass
        raise


def _make_folders(folders, key: str) -> list[Path]:
    """Create ``folders`` and their parents; returns those created, parents first."""
    created: list[Path] = []
    for folder in map(Path, folders):
        missing = [f for f in (folder, *folder.parents) if not f.exists()][::-1]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            failure = _write_error(error, folder, key)
            if failure is not None:
                raise failure from None
            raise
        created += [f for f in missing if f not in created]
    return created


@contextmanager
def atomic_path(path: str | Path, key: str = "output") -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder (``.<stem>.<random><suffix>``: same suffix, so that writers that
    pick a format by suffix — matplotlib, PIL, numpy — keep it); on a normal exit it is flushed to disk, given the
    permissions a plain write would give (:func:`_mode_for`) and renamed to ``path`` (inside :func:`written_together`:
    when the block ends); on an exception (also ``KeyboardInterrupt``) it is removed and ``path`` is left as it was.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        WriteError: ``key``, for a full or failing disk (the temporary removed, ``path`` as it was).
    """
    path = Path(path)
    group = _GROUP.get()
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".tmp")
    except OSError as error:
        failure = _write_error(error, path, key)
        if failure is not None:
            raise failure from None
        raise
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.chmod(temporary, _mode_for(path))
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        if group is not None:
            group.pending.append((temporary, path))
        else:
            os.replace(temporary, path)
    except (OSError, RuntimeError) as error:
        failure = _write_error(error, path, key)
        if failure is not None:
            raise failure from None
        raise
    finally:
        if group is None and temporary.exists():
            temporary.unlink()
        elif group is not None and not any(t == temporary for t, _ in group.pending):
            temporary.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str, key: str = "output") -> None:
    """``Path(path).write_text(text)`` through a temporary file and a rename (``key`` names it in a :class:`WriteError`)."""
    with atomic_path(path, key) as temporary:
        temporary.write_text(text)


def save_torch_atomic(obj, path: str | Path) -> None:
    """``torch.save(obj, path)`` through a temporary file and a rename (a reader never sees half a file)."""
    import torch

    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


def save_figure_atomic(figure, path: str | Path, **kwargs) -> Path:
    """``figure.savefig(path, **kwargs)`` (a matplotlib ``Figure``; the format from the suffix) through a temporary
    file and a rename. Returns ``path``."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, **kwargs)
    return Path(path)


def save_image_atomic(image, path: str | Path, **kwargs) -> Path:
    """``image.save(path, **kwargs)`` (a PIL image; the format from the suffix unless ``format=`` is given) through a
    temporary file and a rename. Returns ``path``."""
    with atomic_path(path) as temporary:
        image.save(temporary, **kwargs)
    return Path(path)
