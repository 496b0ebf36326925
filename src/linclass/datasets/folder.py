"""Image folders (``<split>/<class>/<image>``), from a folder or a tar archive, with a decoded cache.

Layout (as torchvision's ``ImageFolder``): ``train/<class>/*.jpg`` and ``test/<class>/*.jpg``;
a root with class folders directly (no split folders) gives a train split only. One enclosing
top-level folder (as archives often have) is skipped. Label index = position of the class
folder name in sorted order; within a class, images follow file name order. Files whose name
or folder starts with ``.`` and files without an image extension are ignored. Images are
decoded by :func:`linclass.datasets.images.decode_image` (allowed formats only, EXIF
orientation applied, 16-bit and float images scaled, size limit checked from the header);
an entry that is not a regular file (a FIFO named ``x.png``) is refused without being opened.

Decoding 60,000 small JPEGs takes a few seconds, so the decoded arrays are cached as an
``.npz`` (read with ``allow_pickle=False``) under ``$LINCLASS_CACHE_DIR`` (default
``~/.cache/linclass``)/image-folder. The cache key hashes the options and the source's
content: for an archive, the SHA-256 of the whole file; for a folder, the relative path, size
and modification time of every image file. Cache files are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from linclass import limits

from ._dirs import cache_dir
from .archive import iter_tar_files
from .base import DataFormatError, DataNotFoundError, Dataset, empty_like_rows
from .images import check_pixels, decode_image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".pbm", ".tif", ".tiff", ".webp")
SPLITS = ("train", "test")
_CACHE_FORMAT = 1


def load_image_folder(
    root: str | Path,
    *,
    grayscale: bool | None = None,
    size: tuple[int, int] | None = None,
    cache: bool = True,
    max_bytes: int | None = None,
) -> Dataset:
    """Load a folder (or ``.tar``/``.tar.gz`` archive) of images sorted into class folders.

    Args:
        root: folder or archive with ``train/<class>/<image>`` and ``test/<class>/<image>``, or
            ``<class>/<image>`` (train split only).
        grayscale: ``True`` decodes to ``(H, W)`` grey, ``False`` to ``(H, W, 3)`` RGB; ``None``
            keeps grey if every image is grey and uses RGB otherwise.
        size: ``(H, W)`` to resize every image to (bilinear); ``None`` requires all images to
            share one size.
        cache: read and write the decoded arrays in the cache directory.
        max_bytes: the size limit (see :mod:`linclass.limits`) for each image, the resize
            target and all decoded images together.

    Returns:
        Dataset of uint8 images ``(N, H, W)`` or ``(N, H, W, 3)``; ``classes`` are the sorted
        class folder names.

    Example (with the CIFAR-10 JPEG archive)::

        ds = load_image_folder("cifar10-jpeg.tar.gz")
        ds.X_train.shape, ds.classes[0]      # ((50000, 32, 32, 3), 'airplane')
    """
    path = Path(root)
    if grayscale not in (None, True, False):
        raise TypeError(f"grayscale must be None, True or False, got {grayscale!r}")
    if size is not None:
        if not (
            isinstance(size, (tuple, list))
            and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
        ):
            raise ValueError(f"size must be None or (H, W) with positive integers, got {size!r}")
        size = (int(size[0]), int(size[1]))
    limit = limits.max_bytes(max_bytes)
    if size is not None:
        check_pixels(size[0], size[1], limit, "size: the resize target")
    if not path.exists():
        raise DataNotFoundError(f"{path}: no such folder or archive; expected <split>/<class>/<image> files")
    cache_file = _cache_file(path, grayscale, size) if cache else None
    if cache_file is not None:
        cached = _read_cache(cache_file, path)
        if cached is not None:
            return cached
    dataset = _decode_all(path, grayscale, size, limit)
    if cache_file is not None:
        _write_cache(cache_file, dataset)
    return dataset


def _decode_all(path: Path, grayscale: bool | None, size: tuple[int, int] | None, limit: int) -> Dataset:
    try:
        import PIL.Image  # noqa: F401 - Pillow is optional: fail here with the install hint
    except ImportError:
        raise ImportError("load_image_folder needs Pillow: pip install 'linclass[images]'") from None
    files = _archive_files(path, limit) if path.is_file() else _folder_files(path)
    if not files:
        raise DataNotFoundError(
            f"{path}: holds no image files ({', '.join(IMAGE_EXTENSIONS)}); expected <split>/<class>/<image>"
        )
    splits, classes = _layout(sorted(files), str(path))
    index = {name: k for k, name in enumerate(classes)}
    mode = None if grayscale is None else ("L" if grayscale else "RGB")
    arrays: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    shape: tuple[int, ...] | None = None
    total = 0
    for split, members in splits.items():
        images = []
        for rel in members:
            image = decode_image(files[rel], mode, size, f"{path}:{'/'.join(rel)}", limit)
            total += image.nbytes * (3 if mode is None and image.ndim == 2 else 1)
            limits.check_size(
                total, limit, f"{path}: the images decoded up to {'/'.join(rel)}", DataFormatError
            )
            if shape is None:
                shape = image.shape
            elif image.shape[:2] != shape[:2]:
                raise DataFormatError(
                    f"{path}:{'/'.join(rel)}: image is {image.shape[1]}x{image.shape[0]} (WxH) but earlier "
                    f"images are {shape[1]}x{shape[0]}; pass size=(H, W) to resize them all"
                )
            images.append(image)
        if mode is None and any(im.ndim == 3 for im in images):
            images = [np.repeat(im[:, :, None], 3, axis=2) if im.ndim == 2 else im for im in images]
        arrays[split] = np.stack(images)
        labels[split] = np.array([index[rel[-2]] for rel in members], dtype=np.int64)
    if mode is None and len(arrays) == 2 and arrays["train"].ndim != arrays["test"].ndim:
        arrays = {s: a if a.ndim == 4 else np.repeat(a[..., None], 3, axis=3) for s, a in arrays.items()}
    X_train = arrays.get("train")
    if X_train is None:
        raise DataFormatError(
            f"{path}: has a test/ split but no train/ split; expected train/<class>/<image>"
        )
    X_test = arrays.get("test", empty_like_rows(X_train))
    y_test = labels.get("test", np.empty(0, dtype=np.int64))
    return Dataset(
        X_train, labels["train"], X_test, y_test, classes, X_train.shape[1:], name=f"folder:{path}"
    )


def _is_image(parts: tuple[str, ...]) -> bool:
    return (
        bool(parts)
        and parts[-1].lower().endswith(IMAGE_EXTENSIONS)
        and not any(p.startswith(".") for p in parts)
    )


def _member_parts(name: str) -> tuple[str, ...]:
    return tuple(part for part in name.split("/") if part not in ("", "."))


def _archive_files(path: Path, limit: int) -> dict[tuple[str, ...], bytes]:
    files = iter_tar_files(path, select=lambda name: _is_image(_member_parts(name)), max_bytes=limit)
    return {_member_parts(member): content for member, content in files}


def _folder_files(path: Path) -> dict[tuple[str, ...], Path]:
    files = {}
    for directory, folders, names in os.walk(path):
        folders[:] = [f for f in folders if not f.startswith(".")]
        rel = Path(directory).relative_to(path).parts
        for name in names:
            if _is_image((*rel, name)):
                files[(*rel, name)] = Path(directory, name)
    return files


def _layout(
    relpaths: list[tuple[str, ...]], source: str
) -> tuple[dict[str, list[tuple[str, ...]]], tuple[str, ...]]:
    """Group sorted relative paths into splits; return ``({split: paths}, sorted class names)``.

    The class of a path is its parent folder name, whatever the depth.
    """
    inner = relpaths
    tops = {p[0] for p in relpaths}
    if all(len(p) > 2 for p in relpaths) and len(tops) == 1 and next(iter(tops)) not in SPLITS:
        inner = [p[1:] for p in relpaths]
    depths = {len(p) for p in inner}
    if depths == {3} and {p[0] for p in inner} <= set(SPLITS):
        splits = {s: [key for key, p in zip(relpaths, inner, strict=True) if p[0] == s] for s in SPLITS}
        splits = {s: members for s, members in splits.items() if members}
    elif depths == {2}:
        splits = {"train": relpaths}
    else:
        found = sorted({"/".join(p[:-1]) or "." for p in inner})[:6]
        raise DataFormatError(
            f"{source}: images sit in folders {found}; expected train/<class>/<image> and "
            "test/<class>/<image>, or <class>/<image>"
        )
    classes = tuple(sorted({p[-2] for members in splits.values() for p in members}))
    return splits, classes


def _content_digest(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    for rel, file in sorted(_folder_files(path).items()):
        stat = file.stat()
        digest.update(json.dumps(["/".join(rel), stat.st_size, stat.st_mtime_ns]).encode())
    return digest.hexdigest()


def _cache_file(path: Path, grayscale: bool | None, size: tuple[int, int] | None) -> Path:
    key = json.dumps([_CACHE_FORMAT, _content_digest(path), grayscale, size]).encode()
    return cache_dir() / "image-folder" / f"{hashlib.sha256(key).hexdigest()[:32]}.npz"


def _read_cache(cache_file: Path, path: Path) -> Dataset | None:
    if not cache_file.is_file():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in ("X_train", "y_train", "X_test", "y_test", "classes")}
        return Dataset(
            *(arrays[k] for k in ("X_train", "y_train", "X_test", "y_test")),
            tuple(arrays["classes"].tolist()),
            arrays["X_train"].shape[1:],
            name=f"folder:{path}",
        )
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None  # an unreadable cache entry is rebuilt and overwritten


def _write_cache(cache_file: Path, dataset: Dataset) -> None:
    arrays = {
        "X_train": dataset.X_train,
        "y_train": dataset.y_train,
        "X_test": dataset.X_test,
        "y_test": dataset.y_test,
        "classes": np.array(dataset.classes, dtype=str),
    }
    try:
        write_npz_atomic(cache_file, arrays.items())
    except OSError as exc:
        warnings.warn(f"could not write the image cache {cache_file}: {exc}", RuntimeWarning, stacklevel=3)


def write_npz_atomic(target: Path, arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """Write an uncompressed ``.npz`` via a temporary file in the same folder and ``os.replace``,
    so readers see either no file or a complete one (a cache entry torn by a system crash
    fails its zip CRC check on reading and is rebuilt)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **dict(arrays))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
