"""Output paths checked before any work: a file linclass may write, a folder it may fill.

A command checks every path it will write before it loads data or trains, so a typo costs a
second, not a training run. The rules:

- the folder that will hold the file exists, is a folder and is writable (tested by creating
  and removing a probe file there, which also catches read-only file systems);
- the path is not a folder;
- only a regular file (or a symbolic link to one) or a missing path is ever replaced: a FIFO,
  a device, a socket, a broken link or a link to any of them is refused.

Every refusal is an :class:`OutputPathError` whose one-line message starts with the name the
caller gives (the command-line flag) and the path as the user wrote it, never a temporary name:

    >>> try:
    ...     check_output_file("/dev/null", "--out")
    ... except OutputPathError as exc:
    ...     print(exc)
    --out /dev/null: is a character device; linclass replaces only regular files
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from linclass.limits import file_kind

#: Suffixes that name one image file; a folder for several figures should not end in one.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".pdf", ".gif", ".bmp", ".tif", ".tiff", ".webp")


class OutputPathError(ValueError):
    """An output path that linclass will not write; the message names the option and the path."""


def check_output_file(path: str | os.PathLike, name: str = "path") -> Path:
    """Check that ``path`` can be written (created or replaced) as a regular file.

    Args:
        path: the file the caller will write atomically.
        name: how the caller names the path in messages (a flag such as ``"--out"``).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        OutputPathError: the folder is missing, not a folder or not writable; the path is a
            folder; or the path exists and is not a regular file (or a link to one).
    """
    text = os.fspath(path)
    where = f"{name} {text}"
    if not text:
        raise OutputPathError(f"{name}: the path is empty; expected a file name")
    if text.endswith(os.sep) or os.path.isdir(text):
        raise OutputPathError(f"{where}: is a folder; expected a file name")
    _check_folder(os.path.dirname(text), where)
    _check_replaceable(text, where)
    return Path(text)


def check_png_file(path: str | os.PathLike, name: str = "path") -> Path:
    """:func:`check_output_file` for a figure: the name must end in ``.png`` (figures are written
    as PNG whatever the name says, so another suffix would mislabel the file).

    Raises:
        OutputPathError: as for :func:`check_output_file`, or another suffix.
    """
    checked = check_output_file(path, name)
    if checked.suffix.lower() != ".png":
        raise OutputPathError(
            f"{name} {os.fspath(path)}: figures are written as PNG; expected a name ending in .png"
        )
    return checked


def check_output_folder(path: str | os.PathLike, name: str = "path", files: Iterable[str] = ()) -> Path:
    """Check that ``path`` is, or can be created as, a writable folder for the given ``files``.

    A missing folder is fine when its nearest existing parent is a writable folder (the caller
    creates it); a missing path ending in an image suffix (``figures.png``) is refused, since it
    would silently become a folder. Each of ``files`` inside the folder must be replaceable.

    Raises:
        OutputPathError: as for :func:`check_output_file`, naming the folder or the file in it.
    """
    text = os.fspath(path)
    where = f"{name} {text}"
    if not text:
        raise OutputPathError(f"{name}: the path is empty; expected a folder")
    if os.path.isdir(text):
        _check_writable(text, where)
        for file in files:
            _check_replaceable(os.path.join(text, file), f"{where}: {file}")
        return Path(text)
    if os.path.lexists(text):
        raise OutputPathError(f"{where}: is a file; expected a folder to write {_listing(files)} into")
    stem, suffix = os.path.splitext(text.rstrip(os.sep))
    if suffix.lower() in IMAGE_SUFFIXES:
        raise OutputPathError(
            f"{where}: names an image, but {_listing(files)} are written into a folder; "
            f"give a folder, for example {name} {stem or 'figures'}"
        )
    parent = os.path.dirname(os.path.abspath(text))
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise OutputPathError(f"{where}: {parent} is not a folder, so the folder cannot be created there")
    _check_writable(parent, where, shown=parent)
    return Path(text)


def _listing(files: Iterable[str]) -> str:
    names = list(files)
    return ", ".join(names) if names else "the files"


def _check_folder(folder: str, where: str) -> None:
    shown = folder or "the current folder"
    if folder and not os.path.isdir(folder):
        problem = "is not a folder" if os.path.lexists(folder) else "does not exist; create it first"
        raise OutputPathError(f"{where}: folder {shown} {problem}")
    _check_writable(folder or os.curdir, where, shown=shown)


def _check_writable(folder: str, where: str, shown: str | None = None) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".linclass-write-test-", dir=folder)
    except OSError as exc:
        label = f"folder {shown}" if shown else "the folder"
        raise OutputPathError(f"{where}: {label} is not writable ({exc.strerror.lower()})") from None
    os.close(fd)
    os.unlink(probe)


def _check_replaceable(path: str, where: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    link = ""
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise OutputPathError(
                f"{where}: is a broken symbolic link (to {os.readlink(path)}); remove it or give another path"
            ) from None
        link = f"is a symbolic link to {os.readlink(path)}, which "
    kind = file_kind(mode)
    if kind is None:
        return
    if stat.S_ISDIR(mode):
        raise OutputPathError(f"{where}: {link}is a folder; expected a file name")
    raise OutputPathError(f"{where}: {link}is {kind}; linclass replaces only regular files")
