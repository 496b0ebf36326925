"""Applying a trained model to new inputs: image files, arrays and data set splits.

An input is read into the model's input space, the rows ``X (N, D)`` it was trained on:

- an image file (PNG, JPEG, ...) is decoded with Pillow, converted to grey or RGB and resized
  to the model's ``image_shape_`` (as ``linclass.datasets.load_image_folder`` does), as uint8;
- a ``.npy`` or ``.npz`` array holds one example (``image_shape`` or ``(D,)``) or several
  (``(N, *image_shape)`` or ``(N, D)``); an ``.npz`` must hold a single array or one named ``X``;
- ``SPEC:SPLIT`` names a split of a ``--data`` source (``digits:test``, ``cifar10:PATH:train``),
  optionally one row or a slice of rows: ``digits:test[0]``, ``digits:test[10:20]``.

A data set's labels are mapped to the model's classes by name, so true labels travel along.

    >>> from linclass.app.experiment import TrainConfig, train_model
    >>> model = train_model(TrainConfig(optimizer="sgd", epochs=5)).model   # on digits
    >>> inputs = read_inputs(model, ["digits:test[0:3]"])
    >>> predict_top(model, inputs.X, k=2).labels
    [['9', '3'], ['9', '0'], ['2', '1']]
"""

from __future__ import annotations

import errno
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from linclass import limits
from linclass._validation import check_int
from linclass.datasets import DataFormatError, load_source
from linclass.datasets.folder import IMAGE_EXTENSIONS
from linclass.datasets.images import decode_image

SPLITS = ("train", "test")
_SPLIT_SPEC = re.compile(
    r"^(?P<spec>.+):(?P<split>train|test)(?:\[(?P<start>-?\d*)(?P<colon>:)?(?P<stop>-?\d*)\])?$"
)


class LabelledData(NamedTuple):
    """One split of a data set, flattened: ``X (N, D)``, class indices ``y (N,)`` into ``classes``."""

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    image_shape: tuple[int, ...] | None
    name: str


class Inputs(NamedTuple):
    """Rows for a model: ``X (N, D)``, a name per row, and true class indices into the model's
    classes (``-1`` where unknown, ``y`` is None when no input carries labels)."""

    X: np.ndarray
    names: list[str]
    y: np.ndarray | None


class Predictions(NamedTuple):
    """The ``k`` most probable classes of each row, best first.

    Attributes:
        labels: ``N`` lists of ``k`` class names.
        probabilities: ``(N, k)`` their probabilities.
        indices: ``(N, k)`` their column indices into ``model.classes_``.
        all_probabilities: ``(N, C)`` every class's probability (``model.predict_proba``).
    """

    labels: list[list[str]]
    probabilities: np.ndarray
    indices: np.ndarray
    all_probabilities: np.ndarray


def load_classifier(path: str | os.PathLike):
    """``linclass.load(path)``, refusing a model file that holds a regressor."""
    from linclass.estimator.persist import load

    if not os.path.lexists(path):
        raise FileNotFoundError(
            errno.ENOENT, "no such file; expected a model file written by 'linclass train'", os.fspath(path)
        )
    model = load(path)
    if not hasattr(model, "classes_"):
        raise ValueError(
            f"{os.fspath(path)} holds a {type(model).__name__}; expected a classifier model file"
        )
    return model


def model_class_names(model) -> tuple[str, ...]:
    """The display names of a model's classes: ``class_names_`` if set, else ``str`` of ``classes_``."""
    names = getattr(model, "class_names_", None)
    return tuple(names) if names else tuple(str(c) for c in model.classes_)


def describe_input_shape(model) -> str:
    """``"64 features (8x8 images)"``: what a model expects per row, for messages."""
    shape = getattr(model, "image_shape_", None)
    text = f"{model.n_features_in_} features"
    return text + f" ({'x'.join(str(s) for s in shape)} images)" if shape else text


def parse_split_spec(text: str) -> tuple[str, str, slice] | None:
    """Split ``"SPEC:SPLIT[rows]"`` into ``(spec, split, rows)``; None when ``text`` is not of that form.

    Example:
        >>> parse_split_spec("digits:test[2:5]")
        ('digits', 'test', slice(2, 5, None))
        >>> parse_split_spec("digits:train")
        ('digits', 'train', slice(None, None, None))
    """
    match = _SPLIT_SPEC.match(text)
    if match is None:
        return None
    start, stop = match["start"], match["stop"]
    if start is None:
        rows = slice(None)
    elif match["colon"]:
        rows = slice(int(start) if start else None, int(stop) if stop else None)
    elif start:
        index = int(start)
        rows = slice(index, index + 1 if index != -1 else None)
    else:
        raise ValueError(f"{text!r}: empty row index []; write SPEC:SPLIT[i] or SPEC:SPLIT[start:stop]")
    return match["spec"], match["split"], rows


def load_split(spec: str, split: str = "test") -> LabelledData:
    """Load one split of the ``--data`` source ``spec``, flattened to ``(N, D)``.

    Raises:
        ValueError: an unknown split, or a source without rows in that split.
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not supported; expected one of {list(SPLITS)}")
    dataset = load_source(spec)
    X = getattr(dataset, f"X_{split}")
    if len(X) == 0:
        other = "train" if split == "test" else "test"
        raise ValueError(f"data {spec!r} has no {split} split; use the {other} split")
    return LabelledData(
        X.reshape(len(X), -1),
        getattr(dataset, f"y_{split}"),
        dataset.classes,
        dataset.image_shape,
        f"{dataset.name or spec} {split} split",
    )


def to_model_labels(model, y: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Map class indices ``y`` into the data's ``classes`` to column indices of ``model``, by name.

    A class the model does not know maps to ``-1``.

    Example:
        >>> from linclass import LinearClassifier
        >>> model = LinearClassifier(epochs=1).fit([[0.0], [1.0], [2.0]], ["bird", "cat", "dog"])
        >>> to_model_labels(model, np.array([0, 1, 2]), ("cat", "dog", "fox"))
        array([ 1,  2, -1])
    """
    position = {name: k for k, name in enumerate(model_class_names(model))}
    lookup = np.array([position.get(str(name), -1) for name in classes], dtype=np.int64)
    return lookup[np.asarray(y, dtype=np.int64)]


def rows_for_model(model, data: LabelledData, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``X (N, D)`` of ``data`` checked against the model and its labels as the model's class indices.

    Raises:
        ValueError: the feature counts differ, or the data have classes the model does not know.
    """
    X = check_features(model, data.X, source)
    y = to_model_labels(model, data.y, data.classes)
    unknown = sorted({data.classes[int(c)] for c in data.y[y < 0]})
    if unknown:
        raise ValueError(
            f"{source} has classes the model does not know: {unknown}; "
            f"the model's classes are {list(model_class_names(model))}"
        )
    return X, y


def check_features(model, X: np.ndarray, source: str) -> np.ndarray:
    """Return ``X`` as ``(N, D)`` rows for ``model``, or raise a ValueError saying what was expected."""
    rows = X.reshape(len(X), -1) if X.ndim != 2 else X
    if rows.shape[1] != model.n_features_in_:
        raise ValueError(
            f"{source} has {rows.shape[1]} features per example but the model expects "
            f"{describe_input_shape(model)}"
        )
    return rows


def load_image(
    path: str | os.PathLike, image_shape: Sequence[int], *, pixel_max: int = 255, invert: bool = False
) -> np.ndarray:
    """Decode an image file into a uint8 array of ``image_shape``, ready to flatten into a row.

    ``(H, W)`` (or ``(H, W, 1)``) converts to grey, ``(H, W, 3)`` to RGB; the image is resized to
    ``W x H`` with bilinear filtering. ``invert`` maps a pixel ``v`` to ``255 - v`` (dark ink on
    white paper to the light-on-dark digits), then values are scaled so that white is
    ``pixel_max`` (16 for the 0..16 ``digits``).

    Example:
        >>> from PIL import Image
        >>> Image.fromarray(np.full((32, 32), 255, np.uint8)).save("white.png")
        >>> int(load_image("white.png", (8, 8), pixel_max=16, invert=True).max())   # white paper, no ink
        0
    """
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3)):
        raise ValueError(f"image_shape must be (H, W) or (H, W, 1 or 3), got {shape}")
    pixel_max = check_int(pixel_max, "pixel_max")
    if pixel_max > 255:
        raise ValueError(f"pixel_max must be an integer in 1..255, got {pixel_max}")
    mode = "RGB" if len(shape) == 3 and shape[2] == 3 else "L"
    pixels = decode_image(path, mode, shape[:2], os.fspath(path), limits.max_bytes())
    if invert:
        pixels = 255 - pixels
    if pixel_max != 255:
        pixels = np.rint(pixels * (pixel_max / 255)).astype(np.uint8)
    return pixels.reshape(shape)


def read_array(path: str | os.PathLike, model) -> np.ndarray:
    """Read examples for ``model`` from a ``.npy`` or ``.npz`` file (never unpickling) as ``(N, D)``."""
    name = os.fspath(path)
    if name.lower().endswith(".npz"):
        arrays = limits.read_npz(name, DataFormatError, limits.max_bytes())
        keys = list(arrays)
        if len(keys) != 1 and "X" not in keys:
            raise ValueError(
                f"{name} holds arrays {keys}; expected a single array or one named 'X' "
                f"(for a data set file, write {name}:test)"
            )
        array = arrays[keys[0] if len(keys) == 1 else "X"]
    else:
        array = limits.read_npy(name, DataFormatError, limits.max_bytes())
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} holds a {array.dtype} array; expected numbers")
    image_shape = tuple(getattr(model, "image_shape_", None) or ())
    n_features = model.n_features_in_
    if array.shape in (image_shape, (n_features,)):
        array = array.reshape(1, -1)
    elif (
        array.ndim >= 2
        and math.prod(array.shape[1:]) == n_features
        and (array.ndim == 2 or array.shape[1:] == image_shape)
    ):
        array = array.reshape(len(array), -1)
    else:
        one = f"{image_shape} or ({n_features},)" if image_shape else f"({n_features},)"
        many = (
            f"(N, {', '.join(map(str, image_shape))}) or (N, {n_features})"
            if image_shape
            else f"(N, {n_features})"
        )
        raise ValueError(
            f"{name} holds an array of shape {array.shape}; the model expects {describe_input_shape(model)}: "
            f"one example of shape {one}, or N examples as {many}"
        )
    return array


def read_inputs(model, inputs: Sequence[str], *, pixel_max: int = 255, invert: bool = False) -> Inputs:
    """Read image files, ``.npy``/``.npz`` arrays and ``SPEC:SPLIT[rows]`` splits as rows for ``model``.

    Args:
        model: a fitted classifier (``n_features_in_``, ``classes_``, optional ``image_shape_``).
        inputs: file names or split specs, in order; their rows are stacked.
        pixel_max, invert: how image files are converted (see :func:`load_image`).

    Returns:
        :class:`Inputs` with ``X (N, D)`` in the dtype the inputs share (uint8 for images).
    """
    if isinstance(inputs, str) or not inputs:
        raise ValueError(f"inputs must be a non-empty list of files or split specs, got {inputs!r}")
    blocks: list[np.ndarray] = []
    names: list[str] = []
    labels: list[np.ndarray] = []
    for item in inputs:
        path = Path(item)
        suffix = path.suffix.lower()
        if path.is_file() and suffix in IMAGE_EXTENSIONS:
            image_shape = getattr(model, "image_shape_", None)
            if not image_shape:
                raise ValueError(
                    f"cannot convert image {item!r}: the model has no image shape (it was trained on "
                    f"feature vectors); give a .npy or .npz array of {describe_input_shape(model)} per row"
                )
            rows = load_image(path, image_shape, pixel_max=pixel_max, invert=invert).reshape(1, -1)
            block_names, block_labels = [item], np.full(1, -1)
        elif path.is_file() and suffix in (".npy", ".npz"):
            rows = read_array(path, model)
            block_names = [item] if len(rows) == 1 else [f"{item}[{i}]" for i in range(len(rows))]
            block_labels = np.full(len(rows), -1)
        else:
            rows, block_names, block_labels = _read_split(model, item)
        blocks.append(check_features(model, rows, repr(item)))
        names += block_names
        labels.append(block_labels)
    X = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    y = np.concatenate(labels)
    return Inputs(X, names, None if (y < 0).all() else y)


def _read_split(model, item: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    parsed = parse_split_spec(item)
    if parsed is None:
        if Path(item).is_file():
            raise ValueError(
                f"{item!r} is neither an image ({', '.join(IMAGE_EXTENSIONS)}) nor a .npy/.npz array"
            )
        raise ValueError(
            f"{item!r} is not a file; for examples of a data set write SPEC:train or SPEC:test "
            "(for example digits:test or digits:test[0:10])"
        )
    spec, split, rows = parsed
    data = load_split(spec, split)
    positions = np.arange(len(data.y))[rows]
    if positions.size == 0:
        raise ValueError(f"{item!r} selects no rows; the {data.name} has {len(data.y)} examples")
    names = [f"{spec}:{split}[{i}]" for i in positions]
    return data.X[positions], names, to_model_labels(model, data.y[positions], data.classes)


def predict_top(model, X: np.ndarray, k: int = 1) -> Predictions:
    """The ``k`` most probable classes of each row of ``X (N, D)`` with their probabilities.

    Probabilities are ``model.predict_proba``: the softmax of the scores for the softmax
    classifier, Platt scaling for the SVM losses. Ties keep the lower class index first.
    """
    k = check_int(k, "k")
    probabilities = np.asarray(model.predict_proba(X), dtype=np.float64)
    k = min(k, probabilities.shape[1])
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    names = model_class_names(model)
    return Predictions(
        [[names[j] for j in row] for row in order],
        np.take_along_axis(probabilities, order, axis=1),
        order,
        probabilities,
    )
