"""Atomic writes that replace only regular files and clean up after killed writers.

:func:`atomic_writer` writes to a temporary file beside the target and renames it onto the
target, so a crash or ``SIGKILL`` at any moment leaves either the previous file or the new
one, never a partial file; it refuses to replace anything but a regular file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from typing import IO

from linclass import limits

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so no cleanup of stale temporary files
    fcntl = None


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb", encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it atomically replaces ``path``.

    The temporary file lives in the same directory (so ``os.replace`` is a rename on one file
    system) and is created with mode ``0o666`` minus the umask, like ``open``. On leaving the
    block the data is flushed and ``fsync``-ed, the file is renamed onto ``path`` and the
    directory is ``fsync``-ed (best effort). If the block raises, the temporary file is removed
    and an existing file at ``path`` is untouched.

    Only regular files are replaced: an existing ``path`` that is a folder, FIFO, device or
    socket (or a link to one: ``/dev/null`` too) raises :class:`NotRegularFileError` before
    anything is written, so no device is ever replaced. Each writer holds an ``flock`` on its
    temporary file; temporary files of ``path`` that no live writer holds (left by a killed
    writer) are removed by the next write.

    Args:
        path: the final file name.
        mode: ``"wb"`` for bytes or ``"w"`` for text.
        encoding: the text encoding for ``mode="w"``.

    Example:
        >>> with atomic_writer("report.json", "w") as f:
        ...     f.write("{}")
        2
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode={mode!r} is not supported; expected one of ['w', 'wb']")
    final = os.path.abspath(os.fspath(path))
    check_replaceable(final)
    directory, name = os.path.split(final)
    _remove_stale_temporaries(directory, name)
    fd, temp_name = _create_locked_temporary(directory, name)
    try:
        with os.fdopen(fd, mode, encoding=encoding if mode == "w" else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(temp_name, final)  # while the lock is held, so no cleaner removes it
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)


class NotRegularFileError(OSError):
    """An output path exists and is not a regular file, so a writer refuses to replace it."""


def check_replaceable(path: str | os.PathLike) -> None:
    """Raise :class:`NotRegularFileError` if ``path`` exists (after following links) and is not
    a regular file; a missing path or a dangling link's missing target is fine."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    kind = limits.file_kind(info.st_mode)
    if kind is not None:
        raise NotRegularFileError(f"{os.fspath(path)}: is {kind}, not a regular file; refusing to replace it")


def _create_locked_temporary(directory: str, name: str) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp_name = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(temp_name, flags, 0o666)
        except FileExistsError:
            continue
        if fcntl is None:
            return fd, temp_name
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A cleaner may have taken the file between open and flock and removed it: start again.
        try:
            same = os.stat(temp_name).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd, temp_name
        os.close(fd)


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Remove ``.NAME.<12 hex>.tmp`` files in ``directory`` whose writer is gone (lock is free)."""
    if fcntl is None:
        return
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{12}}\.tmp")
    try:
        entries = [entry for entry in os.scandir(directory) if pattern.fullmatch(entry.name)]
    except OSError:
        return
    for entry in entries:
        with contextlib.suppress(OSError):
            if not entry.is_file(follow_symlinks=False):
                continue
            fd = os.open(
                entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            )
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(fd).st_nlink and os.stat(entry.path).st_ino == os.fstat(fd).st_ino:
                    os.unlink(entry.path)
            finally:
                os.close(fd)


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; some platforms cannot open or sync a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, "w", encoding=encoding) as handle:
        handle.write(text)
