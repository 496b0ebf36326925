"""The ``--data`` spec: one string naming where a data set comes from.

Forms: ``digits``, ``blobs``, ``spiral``, ``cifar10:PATH``, ``mnist:PATH``,
``fashion-mnist[:PATH]``, ``folder:PATH``, or a file ``FILE.npz``, ``FILE.npy``, ``FILE.csv``,
``FILE.svm``, ``FILE.libsvm``, ``FILE.txt`` (LIBSVM). For ``.csv`` and ``.npy`` the label is
the last column unless ``FILE.csv#label=NAME_OR_INDEX`` says otherwise. A leading ``~`` in a
path is expanded.

Named sources live in the ``DATASETS`` registry; adding one is a loader function plus one
``DATASETS.register("name", Source(loader, path="required"))`` line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple

from ..registry import Registry
from .base import Dataset
from .cifar import load_cifar10
from .files import load_csv, load_npy, load_npz, load_svmlight
from .folder import load_image_folder
from .idx import load_fashion_mnist, load_mnist
from .toy import load_digits, toy_dataset


class Source(NamedTuple):
    """A named data source: ``load(path)`` and whether the spec gives a path after ``:``."""

    load: Callable[..., Dataset]
    path: Literal["required", "optional", "none"]


DATASETS: Registry[Source] = Registry("data")
DATASETS.register("digits", Source(load_digits, "none"))
DATASETS.register("blobs", Source(lambda: toy_dataset("blobs"), "none"))
DATASETS.register("spiral", Source(lambda: toy_dataset("spiral"), "none"))
DATASETS.register("cifar10", Source(load_cifar10, "required"))
DATASETS.register("mnist", Source(load_mnist, "required"))
DATASETS.register("fashion-mnist", Source(load_fashion_mnist, "optional"))
DATASETS.register("folder", Source(load_image_folder, "required"))

FILE_LOADERS: dict[str, Callable[..., Dataset]] = {
    ".npz": load_npz,
    ".npy": load_npy,
    ".csv": load_csv,
    ".svm": load_svmlight,
    ".libsvm": load_svmlight,
    ".txt": load_svmlight,
}
_LABEL_OPTION = "#label="


def accepted_forms() -> list[str]:
    """Every spec form, for help texts and error messages."""
    suffix = {"required": ":PATH", "optional": "[:PATH]", "none": ""}
    forms = [name + suffix[DATASETS.resolve(name).path] for name in DATASETS.names()]
    return forms + [f"FILE{ext}" for ext in FILE_LOADERS] + ["FILE.csv#label=NAME_OR_INDEX"]


def load_source(spec: str) -> Dataset:
    """Load the data set a ``--data`` spec names.

    Example:
        >>> load_source("digits").X_train.shape
        (1438, 8, 8)
        >>> _ = open("table.csv", "w").write("species,width\\nsetosa,1.5\\nvirginica,4.0\\n")
        >>> load_source("table.csv#label=species").classes
        ('setosa', 'virginica')
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"data={spec!r} is not a data spec; expected one of {accepted_forms()}")
    name, colon, path = spec.partition(":")
    if name in DATASETS:
        source = DATASETS[name]
        if source.path == "none" and colon:
            raise ValueError(f"data={spec!r}: {name} takes no path; write data={name!r}")
        if source.path == "required" and not path:
            raise ValueError(f"data={spec!r}: {name} needs a path; write data='{name}:PATH'")
        return source.load(os.path.expanduser(path)) if path else source.load()
    file, _, label = spec.partition(_LABEL_OPTION) if _LABEL_OPTION in spec else (spec, "", "")
    loader = FILE_LOADERS.get(Path(file).suffix.lower())
    if loader is None:
        raise ValueError(f"data={spec!r} is not supported; expected one of {accepted_forms()}")
    if label:
        if loader not in (load_csv, load_npy):
            raise ValueError(f"data={spec!r}: '#label=' applies to .csv and .npy files only")
        return loader(os.path.expanduser(file), label=int(label) if label.lstrip("-").isdigit() else label)
    return loader(os.path.expanduser(file))
