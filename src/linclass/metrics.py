"""Classification metrics: accuracy, the confusion matrix and per-class precision and recall.

All functions take class indices ``0..C-1`` (``y_true (N,)``, ``y_pred (N,)``) and are plain
NumPy; they agree with ``sklearn.metrics`` (``accuracy_score``, ``confusion_matrix``,
``classification_report(output_dict=True)``) on the same input.

    precision_k = TP_k / (TP_k + FP_k)      (of the examples predicted as k, the share that are k)
    recall_k    = TP_k / (TP_k + FN_k)      (of the examples of class k, the share found: the
                                             class's accuracy)
    f1_k        = 2 precision_k recall_k / (precision_k + recall_k)

A ratio with a zero denominator is reported as 0, as scikit-learn does with ``zero_division=0``.
:func:`evaluate_model` applies them to a fitted classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_int


def _class_indices(y: ArrayLike, name: str, n_classes: int | None = None) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices, got an array of shape {arr.shape}")
    if arr.dtype.kind not in "iub" and arr.size:
        raise TypeError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    idx = arr.astype(np.int64)
    if idx.size and idx.min() < 0:
        raise ValueError(f"{name} contains negative class index {idx.min()}")
    if n_classes is not None and idx.size and idx.max() >= n_classes:
        raise ValueError(
            f"{name} contains class index {idx.max()} but n_classes={n_classes} (expected 0..{n_classes - 1})"
        )
    return idx


def _pair(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    true = _class_indices(y_true, "y_true", n_classes)
    pred = _class_indices(y_pred, "y_pred", n_classes)
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.shape[0]} labels but y_pred has {pred.shape[0]}; expected equal")
    return true, pred


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The share of predictions equal to the true class.

    Example:
        >>> accuracy([0, 1, 2, 2], [0, 2, 2, 2])
        0.75
    """
    true, pred = _pair(y_true, y_pred)
    if true.size == 0:
        raise ValueError("y_true is empty; accuracy needs at least one example")
    return float(np.mean(true == pred))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` of examples of true class ``i`` predicted as class ``j``.

    Args:
        y_true: true class indices ``(N,)``.
        y_pred: predicted class indices ``(N,)``.
        n_classes: ``C``; default ``max(y_true, y_pred) + 1``.

    Returns:
        ``int64`` array ``(C, C)``; rows are true classes, columns predictions, the diagonal the
        correct ones.

    Example:
        >>> confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2]).tolist()
        [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    """
    if n_classes is not None:
        n_classes = check_int(n_classes, "n_classes")
    true, pred = _pair(y_true, y_pred, n_classes)
    if n_classes is None:
        n_classes = int(max(true.max(initial=-1), pred.max(initial=-1))) + 1
    counts = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(
        numerator, denominator, out=np.zeros(numerator.shape, dtype=np.float64), where=denominator > 0
    )


def per_class_scores(cm: ArrayLike) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support ``(C,)`` of each class from a confusion matrix ``(C, C)``.

    Example:
        >>> scores = per_class_scores([[1, 0, 0], [0, 0, 1], [0, 0, 2]])
        >>> scores["precision"].round(3).tolist(), scores["recall"].tolist()
        ([1.0, 0.0, 0.667], [1.0, 0.0, 1.0])
    """
    counts = np.asarray(cm)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"cm must be a square (C, C) array, got shape {counts.shape}")
    counts = counts.astype(np.float64)
    correct = np.diag(counts)
    predicted = counts.sum(axis=0)
    support = counts.sum(axis=1)
    precision = _ratio(correct, predicted)
    recall = _ratio(correct, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}


def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    classes: Sequence[str] | None = None,
    *,
    n_classes: int | None = None,
) -> dict:
    """Per-class precision, recall, F1 and support with their averages, as scikit-learn reports them.

    Args:
        y_true: true class indices ``(N,)``.
        y_pred: predicted class indices ``(N,)``.
        classes: the ``C`` class names (default ``"0"``, ``"1"``, ...); every class is reported,
            also one without examples.
        n_classes: ``C`` when ``classes`` is not given; default ``max(y_true, y_pred) + 1``.

    Returns:
        ``{name: {"precision", "recall", "f1-score", "support"}}`` for every class, plus
        ``"accuracy"`` (a float), ``"macro avg"`` (unweighted mean over classes) and
        ``"weighted avg"`` (weighted by support): the layout of
        ``sklearn.metrics.classification_report(..., output_dict=True)``.

    Example:
        >>> report = classification_report([0, 1, 1], [0, 1, 0], ["cat", "dog"])
        >>> report["cat"]["precision"], report["dog"]["recall"], report["accuracy"]
        (0.5, 0.5, 0.6666666666666666)
    """
    if classes is not None:
        names = [str(c) for c in classes]
        if n_classes is not None and n_classes != len(names):
            raise ValueError(f"classes has {len(names)} names but n_classes={n_classes}")
        n_classes = len(names)
    cm = confusion_matrix(y_true, y_pred, n_classes)
    names = [str(k) for k in range(cm.shape[0])] if classes is None else names
    if len(set(names)) != len(names):
        raise ValueError(f"classes must be distinct names, got {names}")
    scores = per_class_scores(cm)
    report: dict = {}
    for k, name in enumerate(names):
        report[name] = {
            "precision": float(scores["precision"][k]),
            "recall": float(scores["recall"][k]),
            "f1-score": float(scores["f1"][k]),
            "support": int(scores["support"][k]),
        }
    total = int(cm.sum())
    if total == 0:
        raise ValueError("y_true is empty; a classification report needs at least one example")
    report["accuracy"] = float(np.trace(cm) / total)
    weights = scores["support"] / total
    for key, average in (("macro avg", np.mean), ("weighted avg", None)):
        report[key] = {
            metric: float(average(scores[name]) if average else np.sum(scores[name] * weights))
            for metric, name in (("precision", "precision"), ("recall", "recall"), ("f1-score", "f1"))
        }
        report[key]["support"] = total
    return report


def format_report(report: dict, decimals: int = 3) -> str:
    """Lay out a :func:`classification_report` as a text table (one row per class, then the averages).

    Example:
        >>> print(format_report(classification_report([0, 1, 1], [0, 1, 0], ["cat", "dog"])))
        class         precision  recall  f1-score  support
        cat               0.500   1.000     0.667        1
        dog               1.000   0.500     0.667        2
        <BLANKLINE>
        accuracy                            0.667        3
        macro avg         0.750   0.750     0.667        3
        weighted avg      0.833   0.667     0.667        3
    """
    rows = [key for key in report if key not in ("accuracy", "macro avg", "weighted avg")]
    width = max(len("weighted avg"), *(len(name) for name in rows))
    number = f"{{:>{{w}}.{decimals}f}}"
    header = f"{'class':<{width}}  precision  recall  f1-score  support"
    widths = (9, 6, 8, 7)

    def line(name: str, entry: dict) -> str:
        cells = [
            number.format(entry[metric], w=w)
            for metric, w in zip(("precision", "recall", "f1-score"), widths, strict=False)
        ]
        return f"{name:<{width}}  " + "  ".join(cells) + f"  {entry['support']:>{widths[3]}}"

    lines = [header, *(line(name, report[name]) for name in rows), ""]
    total = report["macro avg"]["support"]
    blank = " " * (widths[0] + 2 + widths[1] + 2)
    lines.append(
        f"{'accuracy':<{width}}  {blank}" + number.format(report["accuracy"], w=widths[2]) + f"  {total:>7}"
    )
    lines += [line(key, report[key]) for key in ("macro avg", "weighted avg")]
    return "\n".join(lines)


def format_confusion_matrix(
    cm: ArrayLike, classes: Sequence[str], decimals: int = 2, max_width: int = 100
) -> str:
    """Lay out a confusion matrix as text: true classes as rows, predicted classes as columns.

    Integer counts print as integers; fractions (a row-normalized matrix) with ``decimals``.
    When the class names would make a line longer than ``max_width``, they head the rows only,
    as ``k name``, and the class number ``k`` heads the columns (ten CIFAR-10 classes fit a
    terminal line that way).

    Example:
        >>> print(format_confusion_matrix([[5, 1], [2, 7]], ["cat", "dog"]))
        true \\ predicted  cat  dog
        cat                 5    1
        dog                 2    7
        >>> print(format_confusion_matrix([[5, 1], [2, 7]], ["airplane", "ship"], max_width=30))
        true \\ predicted  0  1
        0 airplane        5  1
        1 ship            2  7
    """
    values = np.asarray(cm)
    names = [str(c) for c in classes]
    if values.shape != (len(names), len(names)):
        raise ValueError(f"cm has shape {values.shape} but there are {len(names)} classes")
    if values.dtype.kind in "iub":
        cells = [[str(int(v)) for v in row] for row in values]
    else:
        cells = [[f"{v:.{decimals}f}" for v in row] for row in values]
    corner = "true \\ predicted"
    number_width = max(len(c) for row in cells for c in row)
    columns = rows = names
    full_width = max(len(corner), *(len(n) for n in names)) + len(names) * (
        2 + max(number_width, *map(len, names))
    )
    if full_width > max_width:
        columns = [str(k) for k in range(len(names))]
        rows = [f"{k:<{len(columns[-1])}} {name}" for k, name in enumerate(names)]
    label_width = max(len(corner), *(len(r) for r in rows))
    cell_width = max(number_width, *(len(c) for c in columns))
    lines = [f"{corner:<{label_width}}" + "".join(f"  {c:>{cell_width}}" for c in columns)]
    for label, row in zip(rows, cells, strict=True):
        lines.append(f"{label:<{label_width}}" + "".join(f"  {c:>{cell_width}}" for c in row))
    return "\n".join(lines)


def normalize_rows(cm: ArrayLike) -> np.ndarray:
    """Divide each row of a confusion matrix by its sum (a row without examples stays 0).

    The diagonal of the result is each class's recall.
    """
    counts = np.asarray(cm, dtype=np.float64)
    return _ratio(counts, counts.sum(axis=1, keepdims=True))


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A classifier's results on labelled data.

    Attributes:
        classes: the ``C`` class names.
        y_true: true class indices ``(N,)``.
        y_pred: predicted class indices ``(N,)``.
        confusion: the confusion matrix ``(C, C)`` (rows true, columns predicted).
        report: the :func:`classification_report` dictionary.
    """

    classes: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    confusion: np.ndarray
    report: dict

    @property
    def accuracy(self) -> float:
        return float(self.report["accuracy"])

    @property
    def n_correct(self) -> int:
        return int(np.trace(self.confusion))

    def to_dict(self) -> dict:
        """Plain Python values for JSON."""
        return {
            "accuracy": self.accuracy,
            "n_samples": int(self.y_true.shape[0]),
            "n_correct": self.n_correct,
            "classes": list(self.classes),
            "per_class": {name: self.report[name] for name in self.classes},
            "macro_avg": self.report["macro avg"],
            "weighted_avg": self.report["weighted avg"],
            "confusion_matrix": self.confusion.tolist(),
        }


def evaluate_predictions(y_true: ArrayLike, y_pred: ArrayLike, classes: Sequence[str]) -> Evaluation:
    """Accuracy, per-class report and confusion matrix of predictions over ``len(classes)`` classes."""
    names = tuple(str(c) for c in classes)
    true, pred = _pair(y_true, y_pred, len(names))
    cm = confusion_matrix(true, pred, len(names))
    return Evaluation(names, true, pred, cm, classification_report(true, pred, names))


def evaluate_model(
    model, X: ArrayLike, y_true: ArrayLike, classes: Sequence[str] | None = None
) -> Evaluation:
    """Evaluate a fitted classifier on ``X (N, D)`` with true class indices ``y_true (N,)``.

    ``y_true[i]`` indexes ``model.classes_`` (the model's score columns); the prediction is the
    column of the highest score.

    Args:
        model: a fitted ``LinearClassifier`` (anything with ``classes_`` and ``predict``).
        X: inputs ``(N, D)``.
        y_true: true class indices into ``model.classes_``.
        classes: display names of the ``C`` classes; default ``model.class_names_`` when the
            model has them, else ``str`` of ``model.classes_``.

    Example:
        >>> from linclass import LinearClassifier
        >>> from linclass.datasets import load_digits
        >>> digits = load_digits().flatten()
        >>> model = LinearClassifier(optimizer="sgd", random_state=0).fit(digits.X_train, digits.y_train)
        >>> evaluation = evaluate_model(model, digits.X_test, digits.y_test)
        >>> round(evaluation.accuracy, 2), evaluation.confusion.shape
        (0.92, (10, 10))
    """
    model_classes = np.asarray(model.classes_)
    if classes is None:
        classes = getattr(model, "class_names_", None) or [str(c) for c in model_classes]
    y_pred = np.searchsorted(model_classes, model.predict(X))
    return evaluate_predictions(y_true, y_pred, classes)
