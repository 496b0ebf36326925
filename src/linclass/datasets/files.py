"""Users' own data: ``.npz``/``.npy`` arrays, CSV tables and LIBSVM/SVMlight text files.

Labels of any kind (integers, whole floats, strings) are mapped to indices ``0..C-1`` over
the sorted distinct values, which become ``Dataset.classes``. Text formats give ``float32``
features by default. NumPy files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path

import numpy as np

from .base import DataFormatError, DataNotFoundError, Dataset, empty_like_rows, encode_labels

MAX_DENSE_BYTES = 1 << 33


def load_npz(path: str | Path) -> Dataset:
    """Load a ``.npz`` with ``X_train``, ``y_train`` (and optionally ``X_test``, ``y_test``), or ``X``, ``y``.

    An optional ``classes`` array of names makes ``y`` indices into it; otherwise labels are
    encoded as described in the module docstring. ``X`` with more than 2 dimensions keeps its
    shape as ``image_shape``.
    """
    path = _existing(path, "a .npz file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataFormatError(f"{path}: holds a single array (.npy content); expected a .npz archive")
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(
            f"{path}: not a readable .npz file ({exc}); object arrays are refused"
        ) from None
    if {"X_train", "y_train"} <= arrays.keys():
        X_train, y_train = arrays["X_train"], arrays["y_train"]
        X_test, y_test = arrays.get("X_test"), arrays.get("y_test")
        if (X_test is None) != (y_test is None):
            raise DataFormatError(f"{path}: holds only one of X_test and y_test; expected both or neither")
    elif {"X", "y"} <= arrays.keys():
        X_train, y_train, X_test, y_test = arrays["X"], arrays["y"], None, None
    else:
        raise DataFormatError(
            f"{path}: holds arrays {sorted(arrays)}; expected X_train and y_train "
            "(optionally X_test, y_test) or X and y"
        )
    return _dataset(path, X_train, y_train, X_test, y_test, arrays.get("classes"))


def load_npy(path: str | Path, *, label: int = -1) -> Dataset:
    """Load a 2-D ``.npy`` array whose column ``label`` (default: the last) holds the labels."""
    path = _existing(path, "a .npy file")
    try:
        table = np.load(path, allow_pickle=False)
        if not isinstance(table, np.ndarray):
            table.close()
            raise DataFormatError(f"{path}: holds a .npz archive; expected a single .npy array")
    except (OSError, ValueError, EOFError) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(
            f"{path}: not a readable .npy file ({exc}); object arrays are refused"
        ) from None
    if table.ndim != 2 or table.dtype.kind not in "biuf":
        raise DataFormatError(
            f"{path}: holds a {table.ndim}-D {table.dtype} array; "
            "expected a 2-D numeric table with a label column"
        )
    column = _column_index(label, table.shape[1], None, path)
    features = np.delete(table, column, axis=1)
    return _dataset(path, features, table[:, column], None, None, None)


def load_csv(
    path: str | Path,
    *,
    label: int | str = -1,
    header: bool | None = None,
    delimiter: str = ",",
    dtype: type | np.dtype = np.float32,
) -> Dataset:
    """Load a CSV table: one row per sample, one column of labels, the rest numeric features.

    Args:
        label: the label column, by index (negative counts from the end) or by header name.
        header: whether the first row names the columns; ``None`` detects it (a first row with
            any cell that is not a number is a header).
        delimiter: the field separator.
        dtype: the features' dtype.

    Labels may be numbers or names. A feature cell that is not a number is an error naming
    its row (1-based, as in a spreadsheet) and column.
    """
    path = _existing(path, "a CSV file")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [(n, row) for n, row in enumerate(csv.reader(f, delimiter=delimiter), start=1) if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError(f"{path}: not a readable CSV text file ({exc})") from None
    if not rows:
        raise DataFormatError(f"{path}: is empty; expected rows of numeric features and a label column")
    first = rows[0][1]
    width = len(first)
    by_name = isinstance(label, str) and not label.lstrip("-").isdigit()
    if header is None:
        header = by_name or not all(
            _is_number(cell) for j, cell in enumerate(first) if j != _column_index(label, width, None, path)
        )
    names = [cell.strip() for cell in first] if header else None
    body = rows[1:] if header else rows
    column = _column_index(label, width, names, path)
    features = np.empty((len(body), width - 1), dtype=dtype)
    labels = []
    for i, (line, row) in enumerate(body):
        if len(row) != width:
            raise DataFormatError(
                f"{path}: row {line} has {len(row)} columns; expected {width} like the first row"
            )
        labels.append(row[column].strip())
        for j, cell in enumerate(row[:column] + row[column + 1 :]):
            try:
                features[i, j] = float(cell)
            except ValueError:
                col = j + (j >= column) + 1
                col_name = f" ({names[col - 1]!r})" if names else ""
                raise DataFormatError(
                    f"{path}: row {line}, column {col}{col_name} holds {cell!r}; expected a number"
                ) from None
    label_values = np.array([float(v) for v in labels]) if all(map(_is_number, labels)) else np.array(labels)
    return _dataset(path, features, label_values, None, None, None)


def load_svmlight(
    path: str | Path,
    *,
    n_features: int | None = None,
    zero_based: bool | str = "auto",
    dtype: type | np.dtype = np.float32,
) -> Dataset:
    """Load a LIBSVM/SVMlight text file as dense features.

    Each line is ``label index:value index:value ...`` (``#`` starts a comment; a ``qid:N``
    token is ignored; absent indices are 0).

    Args:
        n_features: number of feature columns; ``None`` uses the largest index present.
        zero_based: indices start at 0 instead of the format's usual 1; ``"auto"`` (the
            default) counts from 0 when any index is 0 (as files written by scikit-learn's
            ``dump_svmlight_file`` do), from 1 otherwise.
        dtype: the features' dtype.
    """
    path = _existing(path, "a LIBSVM file")
    if zero_based not in (True, False, "auto"):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
    offset = 0 if zero_based is True else 1
    labels, rows, cols, values = [], [], [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not a text file ({exc}); expected LIBSVM lines") from None
    for line_number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        label = tokens[0]
        if not _is_number(label):
            raise DataFormatError(
                f"{path}: line {line_number} starts with {label!r}; expected a numeric label"
            )
        sample = len(labels)
        labels.append(float(label))
        for token in tokens[1:]:
            key, sep, value = token.partition(":")
            if key == "qid":
                continue
            if not (sep and key.isascii() and key.isdigit() and _is_number(value)):
                raise DataFormatError(f"{path}: line {line_number} has token {token!r}; expected index:value")
            if int(key) < offset and zero_based == "auto":
                offset = 0
            elif int(key) < offset:
                raise DataFormatError(
                    f"{path}: line {line_number} uses index {key} but indices start at {offset}; "
                    f"pass zero_based={not zero_based} if the file counts from {1 - offset}"
                )
            rows.append(sample)
            cols.append(int(key))
            values.append(float(value))
    if not labels:
        raise DataFormatError(f"{path}: holds no samples; expected lines 'label index:value ...'")
    cols = np.asarray(cols, dtype=np.int64) - offset
    width = int(cols.max(initial=-1)) + 1 if n_features is None else n_features
    if cols.size and cols.max() >= width:
        raise DataFormatError(f"{path}: uses feature index {cols.max() + offset} but n_features={width}")
    nbytes = len(labels) * width * np.dtype(dtype).itemsize
    if nbytes > MAX_DENSE_BYTES:
        raise DataFormatError(
            f"{path}: {len(labels)} samples x {width} features would take {nbytes:,} bytes as a dense array, "
            f"more than {MAX_DENSE_BYTES:,}; pass a smaller n_features or use a sparse reader"
        )
    X = np.zeros((len(labels), width), dtype=dtype)
    X[rows, cols] = values
    return _dataset(path, X, np.array(labels), None, None, None)


def _dataset(path: Path, X_train, y_train, X_test, y_test, classes) -> Dataset:
    X_train, y_train = np.asarray(X_train), np.asarray(y_train)
    if X_train.ndim < 2 or X_train.dtype.kind not in "biuf":
        raise DataFormatError(
            f"{path}: X has shape {X_train.shape} and dtype {X_train.dtype}; expected numeric (N, D)"
        )
    if X_test is None:
        X_test, y_test = empty_like_rows(X_train), np.empty(0, dtype=y_train.dtype)
    for split, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        if y.ndim != 1 or len(y) != len(X):
            raise DataFormatError(f"{path}: y_{split} has shape {y.shape} but X_{split} has {len(X)} rows")
    if X_test.shape[1:] != X_train.shape[1:]:
        raise DataFormatError(
            f"{path}: X_test rows have shape {X_test.shape[1:]}; expected {X_train.shape[1:]}"
        )
    if classes is not None:
        names = tuple(str(c) for c in np.asarray(classes).ravel())
        for split, y in (("train", y_train), ("test", y_test)):
            if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= len(names))):
                raise DataFormatError(f"{path}: y_{split} must be indices 0..{len(names) - 1} into classes")
        indices = [y_train, y_test]
    else:
        indices, names = encode_labels(y_train, y_test, source=path)
    image_shape = X_train.shape[1:] if X_train.ndim > 2 else None
    return Dataset(X_train, indices[0], X_test, indices[1], names, image_shape, name=str(path))


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: no such file; expected {what}")
    return path


def _column_index(label: int | str, width: int, names: list[str] | None, path: Path) -> int:
    if isinstance(label, str) and not label.lstrip("-").isdigit():
        if names is None or label not in names:
            where = f"columns {names}" if names else "no header row"
            raise DataFormatError(f"{path}: has no column named {label!r}; found {where}")
        return names.index(label)
    index = int(label)
    if not -width <= index < width:
        raise DataFormatError(f"{path}: label column {index} is out of range; the table has {width} columns")
    if width < 2:
        raise DataFormatError(f"{path}: has {width} column; expected features and a label column")
    return index % width


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
