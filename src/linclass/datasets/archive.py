"""Reading data files straight out of tar archives, in memory and refusing unsafe members.

Nothing is ever extracted to disk. Still, an archive whose members would escape their folder
when extracted (absolute paths, ``..`` components), or that holds links or device files, is
not a data archive linclass should trust: it is refused as a whole with ``UnsafeDataError``.
The members' declared sizes are checked as they come against the size limit and the
compression ratio (see :mod:`linclass.limits`), so a tar bomb is refused before it is read.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from linclass import limits

from .base import DataFormatError, UnsafeDataError

GZIP_MAGIC = b"\x1f\x8b"


def is_tar_archive(path: Path) -> bool:
    """Whether ``path`` is a regular file holding a (possibly compressed) tar archive."""
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        if f.read(2) == GZIP_MAGIC:
            return True
    try:
        return tarfile.is_tarfile(path)
    except (OSError, EOFError, tarfile.TarError, zlib.error):
        return False


def check_member(member: tarfile.TarInfo, source: str) -> None:
    """Raise ``UnsafeDataError`` unless ``member`` is a plain file or folder with a relative,
    ``..``-free name."""
    name = member.name
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        problem = "has an absolute path"
    elif ".." in parts:
        problem = "has a '..' path component"
    elif member.issym() or member.islnk():
        problem = f"is a link to {member.linkname!r}"
    elif member.ischr() or member.isblk() or member.isfifo():
        problem = "is a device or pipe"
    elif not (member.isfile() or member.isdir()):
        problem = "is not a regular file or folder"
    else:
        return
    raise UnsafeDataError(
        f"{source}: member {name!r} {problem}; a data archive may only hold regular files and folders "
        "under relative paths"
    )


def iter_tar_files(
    path: str | Path, select: Callable[[str], bool] | None = None, *, max_bytes: int | None = None
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(member name, content)`` for the regular files of a tar archive, in archive order.

    Every member is checked with ``check_member`` (a bad one raises even if not selected).

    Args:
        path: a ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2`` or ``.tar.xz`` file.
        select: reads only files whose member name it accepts; ``None`` reads all.
        max_bytes: the size limit for the files read, together (see :mod:`linclass.limits`).
    """
    source = str(path)
    limit = limits.max_bytes(max_bytes)
    declared = kept = 0
    try:
        with (
            limits.open_regular(path, "a tar archive", DataFormatError) as raw,
            tarfile.open(fileobj=raw, mode="r|*") as tar,
        ):
            compressed = os.fstat(raw.fileno()).st_size
            for member in tar:
                check_member(member, source)
                declared += member.size
                limits.check_expansion(declared, compressed, f"{source}: its members", DataFormatError)
                if not member.isfile() or (select is not None and not select(member.name)):
                    continue
                kept += member.size
                limits.check_size(
                    kept, limit, f"{source}: the files read up to member {member.name!r}", DataFormatError
                )
                handle = tar.extractfile(member)
                content = handle.read() if handle is not None else b""
                if len(content) != member.size:
                    raise DataFormatError(
                        f"{source}: member {member.name!r} is truncated: "
                        f"{len(content):,} of {member.size:,} bytes"
                    )
                yield member.name, content
    except (tarfile.TarError, OSError, EOFError, zlib.error, TypeError) as exc:
        # TypeError: tarfile's stream reader on a gzip header cut short (ord() of b"")
        raise DataFormatError(
            f"{source}: not a readable tar archive ({exc}); expected a .tar or .tar.gz file"
        ) from None
