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

import difflib
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


def forms_text() -> str:
    """The spec forms as a sentence: ``digits, blobs, ..., or a file FILE.npz, ...``."""
    named = [form for form in accepted_forms() if not form.startswith("FILE")]
    files = [form for form in accepted_forms() if form.startswith("FILE")]
    return f"{', '.join(named)}, or a file {', '.join(files)}"


class DataSpecError(ValueError):
    """A ``--data`` spec of no known form; ``problem`` says why, without the spec itself."""

    def __init__(self, spec: object, problem: str) -> None:
        super().__init__(f"data={spec!r}: {problem}")
        self.spec = spec
        self.problem = problem


def check_spec(spec: str) -> None:
    """Raise :class:`DataSpecError` unless ``spec`` has one of the forms (files are not opened).

    Example:
        >>> check_spec("digit")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        linclass.datasets.source.DataSpecError: data='digit': not a data source; did you mean 'digits'? ...
    """
    if not isinstance(spec, str) or not spec:
        raise DataSpecError(spec, f"not a data spec; expected {forms_text()}")
    name, colon, path = spec.partition(":")
    if name in DATASETS:
        source = DATASETS[name]
        if source.path == "none" and colon:
            raise DataSpecError(spec, f"{name} takes no path; write {name!r}")
        if source.path == "required" and not path:
            raise DataSpecError(spec, f"{name} needs a path; write '{name}:PATH'")
        return
    file, _, label = spec.partition(_LABEL_OPTION)
    suffix = Path(file).suffix.lower()
    if suffix in FILE_LOADERS:
        if label and FILE_LOADERS[suffix] not in (load_csv, load_npy):
            raise DataSpecError(spec, "'#label=' applies to .csv and .npy files only")
        return
    if os.path.isdir(os.path.expanduser(spec)):
        raise DataSpecError(
            spec, f"is a folder; write folder:{spec} for <split>/<class>/<image> folders, cifar10:{spec} for "
            f"CIFAR-10 batches or mnist:{spec} for MNIST files"
        )
    guess = _closest(spec, file, suffix)
    hint = f"did you mean {guess!r}? " if guess else ""
    raise DataSpecError(spec, f"not a data source; {hint}expected {forms_text()}")


def _closest(spec: str, file: str, suffix: str) -> str | None:
    names = difflib.get_close_matches(spec.partition(":")[0], DATASETS.names(), n=1, cutoff=0.6)
    if names:
        name = names[0]
        rest = spec.partition(":")[2]
        return f"{name}:{rest}" if rest and DATASETS[name].path != "none" else name
    if suffix:
        suffixes = difflib.get_close_matches(suffix, list(FILE_LOADERS), n=1, cutoff=0.7)
        if suffixes:
            return file[: len(file) - len(suffix)] + suffixes[0]
    return None


def load_source(spec: str) -> Dataset:
    """Load the data set a ``--data`` spec names.

    Example:
        >>> load_source("digits").X_train.shape
        (1438, 8, 8)
        >>> _ = open("table.csv", "w").write("species,width\\nsetosa,1.5\\nvirginica,4.0\\n")
        >>> load_source("table.csv#label=species").classes
        ('setosa', 'virginica')
    """
    check_spec(spec)
    name, _, path = spec.partition(":")
    if name in DATASETS:
        source = DATASETS[name]
        return source.load(os.path.expanduser(path)) if path else source.load()
    file, _, label = spec.partition(_LABEL_OPTION)
    loader = FILE_LOADERS[Path(file).suffix.lower()]
    if label:
        return loader(os.path.expanduser(file), label=int(label) if label.lstrip("-").isdigit() else label)
    return loader(os.path.expanduser(file))
