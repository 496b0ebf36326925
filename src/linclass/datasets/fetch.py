"""Checksummed downloads of the official data set files, with resume, using only ``urllib``.

A file is downloaded to ``NAME.part``; an interrupted transfer is resumed with an HTTP
``Range`` request (or restarted when the server ignores it); the checksum is verified before
``os.replace`` gives it its final name, so a final name always holds a verified file. A
checksum mismatch deletes the partial file and raises; a resumed file that fails the check is
downloaded once more from the start.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from .._validation import check_int, check_positive
from ._dirs import data_home
from .base import DataFormatError


class DownloadError(OSError):
    """The server could not be reached, answered with an error, or kept cutting the transfer."""


class ChecksumError(DataFormatError):
    """A downloaded file's MD5 differs from the published one."""


class Remote(NamedTuple):
    """A downloadable data set: base URL, ``{file name: md5}``, and which path ``fetch`` returns."""

    base_url: str
    files: Mapping[str, str]
    returns_folder: bool


_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_MNIST_MD5 = (  # as listed by torchvision.datasets.MNIST
    "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c",
)  # fmt: skip
_FASHION_MNIST_MD5 = (  # as listed by torchvision.datasets.FashionMNIST
    "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
    "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310",
)  # fmt: skip
REMOTES: dict[str, Remote] = {
    "cifar10": Remote(
        "https://www.cs.toronto.edu/~kriz/",
        {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"},
        False,
    ),
    "cifar10-binary": Remote(
        "https://www.cs.toronto.edu/~kriz/",
        {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
        False,
    ),
    "mnist": Remote(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        dict(zip(_MNIST_FILES, _MNIST_MD5, strict=True)),
        True,
    ),
    "fashion-mnist": Remote(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        dict(zip(_MNIST_FILES, _FASHION_MNIST_MD5, strict=True)),
        True,
    ),
}
_CHUNK = 1 << 16


def fetch(
    name: str,
    dest: str | Path | None = None,
    *,
    url: str | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    retries: int = 3,
) -> Path:
    """Download a data set's official files into ``dest`` (skipping files already verified).

    Args:
        name: ``"cifar10"`` (python version), ``"cifar10-binary"``, ``"mnist"`` or ``"fashion-mnist"``.
        dest: target folder; ``None`` means ``$LINCLASS_DATA/<name>`` (default
            ``~/.cache/linclass/<name>``), where ``load_fashion_mnist()`` looks.
        url: base URL to fetch the files from instead of the official one (a mirror); each
            file's URL is ``url`` + its file name.
        checksums: ``{file name: md5}`` replacing the published checksums (for a mirror that
            serves other files).
        timeout: seconds to wait for the server on each request.
        retries: transfer attempts per file before giving up (each resumes the last).

    Returns:
        The path a loader takes: the archive for CIFAR-10 (``load_cifar10`` reads it as is),
        the folder for MNIST and Fashion-MNIST.

    Example (where a network exists)::

        ds = load_cifar10(fetch("cifar10"))
    """
    if name not in REMOTES:
        raise ValueError(f"name={name!r} is not supported; expected one of {sorted(REMOTES)}")
    remote = REMOTES[name]
    folder = Path(dest) if dest is not None else data_home() / name
    folder.mkdir(parents=True, exist_ok=True)
    base = url if url is not None else remote.base_url
    files = dict(checksums) if checksums is not None else dict(remote.files)
    for filename, md5 in files.items():
        download(
            base.rstrip("/") + "/" + filename, folder / filename, md5=md5, timeout=timeout, retries=retries
        )
    return folder if remote.returns_folder else folder / next(iter(files))


def download(url: str, path: str | Path, *, md5: str, timeout: float = 60.0, retries: int = 3) -> Path:
    """Download ``url`` to ``path`` through ``path.part``, verify its MD5, then rename it.

    An existing ``path`` with the right MD5 is kept as is. An existing ``path.part`` is
    resumed. Raises ``DownloadError`` for network and HTTP failures (the ``.part`` file stays
    for a later resume) and ``ChecksumError`` when the content is wrong (nothing stays).
    """
    check_positive(timeout, "timeout")
    check_int(retries, "retries", minimum=1)
    path = Path(path)
    if path.is_file() and file_md5(path) == md5:
        return path
    part = path.with_name(path.name + ".part")
    resumed = part.is_file() and part.stat().st_size > 0
    _transfer(url, part, timeout, retries)
    actual = file_md5(part)
    if actual != md5 and resumed:
        part.unlink()
        _transfer(url, part, timeout, retries)
        actual = file_md5(part)
    if actual != md5:
        part.unlink()
        raise ChecksumError(
            f"{path.name}: downloaded from {url} has md5 {actual} but {md5} was expected; "
            "the file was deleted (a corrupt mirror or an interrupted proxy can cause this)"
        )
    os.replace(part, path)
    return path


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _transfer(url: str, part: Path, timeout: float, retries: int) -> None:
    """Bring ``part`` to the full length of ``url``, resuming after each cut transfer."""
    for _ in range(retries):
        if _attempt(url, part, timeout):
            return
    raise DownloadError(
        f"{url}: the transfer was cut {retries} times; {part.stat().st_size:,} bytes are kept in {part} "
        "and the next fetch resumes from there"
    )


def _attempt(url: str, part: Path, timeout: float) -> bool:
    """One request; returns whether the file is complete."""
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "linclass"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return True  # the partial file already holds everything; the checksum decides
        raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{url}: cannot connect ({reason})") from None
    with response:
        appending = response.status == 206 and _range_start(response) == offset
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        received = 0
        with open(part, "ab" if appending else "wb") as out:
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
            except (http.client.IncompleteRead, ConnectionError, TimeoutError):
                return False
    return expected is None or received >= expected


def _range_start(response: http.client.HTTPResponse) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    unit, _, spec = content_range.partition(" ")
    start = spec.split("-", 1)[0]
    return int(start) if unit == "bytes" and start.isdigit() else None
