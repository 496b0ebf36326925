"""Users' own data: ``.npz``/``.npy`` arrays, CSV tables and LIBSVM/SVMlight text files.

Labels of any kind (integers, whole floats, strings) are mapped to indices ``0..C-1`` over
the sorted distinct values, which become ``Dataset.classes``. Text formats give ``float32``
features by default. NumPy files are read without ever unpickling.

Every loader takes ``max_bytes`` (see :mod:`linclass.limits`): what the file would expand to
(the arrays a ``.npz``/``.npy`` header declares, the dense table a LIBSVM file implies, the
text itself) is checked against it before anything is allocated. Only regular files are read.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from pathlib import Path

import numpy as np

from linclass import limits

from .base import DataFormatError, DataNotFoundError, Dataset, empty_like_rows, encode_labels
from .featurefile import load_features


def load_npz(path: str | Path, *, max_bytes: int | None = None) -> Dataset:
    """Load a ``.npz`` with ``X_train``, ``y_train`` (and optionally ``X_test``, ``y_test``), or ``X``, ``y``.

    An optional ``classes`` array of names makes ``y`` indices into it; otherwise labels are
    encoded as described in the module docstring. ``X`` with more than 2 dimensions keeps its
    shape as ``image_shape``. A linclass feature file (an ``.npz`` with a ``__metadata__``
    member, see :mod:`linclass.datasets.featurefile`) is read and checksum-verified as one.
    """
    path = _existing(path, "a .npz file")
    if _is_bundle(path):
        return load_features(path, max_bytes=max_bytes)[0]
    arrays = limits.read_npz(path, DataFormatError, limits.max_bytes(max_bytes), kinds="biufUS")
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


def _is_bundle(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "__metadata__.npy" in archive.namelist()
    except limits.UNREADABLE_ARCHIVE:
        return False


def load_npy(path: str | Path, *, label: int = -1, max_bytes: int | None = None) -> Dataset:
    """Load a 2-D ``.npy`` array whose column ``label`` (default: the last) holds the labels."""
    path = _existing(path, "a .npy file")
    table = limits.read_npy(path, DataFormatError, limits.max_bytes(max_bytes), kinds="biufUS")
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
    max_bytes: int | None = None,
) -> Dataset:
    """Load a CSV table: one row per sample, one column of labels, the rest numeric features.

    The file is UTF-8 text; a leading byte-order mark is skipped.

    Args:
        label: the label column, by index (negative counts from the end) or by header name.
        header: whether the first row names the columns. ``None`` decides by this rule: the
            first row is a header when ``label`` is a column name, or when one of its feature
            cells holds text that is not a number. Empty cells and ``nan``/``inf`` spellings are
            values, never names, so they never make a row a header (such a row is data, and
            an empty cell is then an error naming it).
        delimiter: the field separator.
        dtype: the features' dtype; a value it cannot hold (``1e39`` as float32, ``300`` or
            ``1.5`` as int8) is an error naming its row and column.
        max_bytes: the size limit (see :mod:`linclass.limits`) for the file and the table.

    Labels may be numbers or names. A feature cell that is not a number is an error naming
    its row (1-based, as in a spreadsheet) and column.
    """
    path = _existing(path, "a CSV file")
    limit = limits.max_bytes(max_bytes)
    dtype = np.dtype(dtype)
    if dtype.kind not in "biuf":
        raise TypeError(f"dtype must be a bool, integer or floating NumPy dtype, got {dtype}")
    try:
        text = limits.read_regular(path, "a CSV file", DataFormatError, limit).decode("utf-8-sig")
        rows = [
            (n, row)
            for n, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)
            if row
        ]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError(f"{path}: not a readable CSV text file ({exc})") from None
    if not rows:
        raise DataFormatError(f"{path}: is empty; expected rows of numeric features and a label column")
    first = rows[0][1]
    width = len(first)
    if header is None:
        header = (isinstance(label, str) and not label.lstrip("-").isdigit()) or any(
            _is_text(cell) for j, cell in enumerate(first) if j != _column_index(label, width, None, path)
        )
    names = [cell.strip() for cell in first] if header else None
    body = rows[1:] if header else rows
    column = _column_index(label, width, names, path)
    limits.check_size(
        len(body) * (width - 1) * 8,
        limit,
        f"{path}: {len(body)} rows x {width - 1} features",
        DataFormatError,
    )
    values = np.empty((len(body), width - 1), dtype=np.float64)
    labels = []
    for i, (line, row) in enumerate(body):
        if len(row) != width:
            raise DataFormatError(
                f"{path}: row {line} has {len(row)} columns; expected {width} like the first row"
            )
        labels.append(row[column].strip())
        for j, cell in enumerate(row[:column] + row[column + 1 :]):
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise DataFormatError(
                    f"{path}: row {line}, {_column_name(j, column, names)} holds {cell!r}; expected a number"
                ) from None
    features = _convert(values, dtype, path, [line for line, _ in body], column, names)
    label_values = np.array([float(v) for v in labels]) if all(map(_is_number, labels)) else np.array(labels)
    return _dataset(path, features, label_values, None, None, None)


def _column_name(j: int, label_column: int, names: list[str] | None) -> str:
    col = j + (j >= label_column) + 1
    return f"column {col}" + (f" ({names[col - 1]!r})" if names else "")


def _convert(
    values: np.ndarray, dtype: np.dtype, path: Path, lines: list[int], column: int, names: list[str] | None
) -> np.ndarray:
    """``values`` as ``dtype``, or a DataFormatError naming the first cell ``dtype`` cannot hold."""
    finite = np.isfinite(values)
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            converted = values.astype(dtype)
        bad = finite & ~np.isfinite(converted)
        problem = f"overflows {dtype} (largest {np.finfo(dtype).max:.6g})"
    else:
        bounds = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
        bad = ~finite | (values != np.round(values)) | (values < bounds[0]) | (values > bounds[1])
        problem = f"is not a whole number in {bounds[0]}..{bounds[1]}, so {dtype} cannot hold it"
        converted = None
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataFormatError(
            f"{path}: row {lines[i]}, {_column_name(int(j), column, names)} holds {float(values[i, j])!r}, "
            f"which {problem}"
        )
    return converted if converted is not None else values.astype(dtype)


def load_svmlight(
    path: str | Path,
    *,
    n_features: int | None = None,
    zero_based: bool | str = "auto",
    dtype: type | np.dtype = np.float32,
    max_bytes: int | None = None,
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
        max_bytes: the size limit (see :mod:`linclass.limits`) for the file and the dense table.
    """
    path = _existing(path, "a LIBSVM file")
    if zero_based not in (True, False, "auto"):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
    offset = 0 if zero_based is True else 1
    limit = limits.max_bytes(max_bytes)
    labels, rows, cols, values = [], [], [], []
    try:
        text = limits.read_regular(path, "a LIBSVM file", DataFormatError, limit).decode("utf-8")
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
    limits.check_size(
        nbytes,
        limit,
        f"{path}: {len(labels)} samples x {width} features as a dense {np.dtype(dtype)} array",
        DataFormatError,
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
    try:
        limits.require_regular(path, what, DataFormatError)
    except (FileNotFoundError, NotADirectoryError):
        raise DataNotFoundError(f"{path}: no such file; expected {what}") from None
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


def _is_text(cell: str) -> bool:
    """Whether a cell holds text other than a number's spelling (empty cells are not text)."""
    try:
        float(cell)
    except ValueError:
        return bool(cell.strip())
    return False


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
