"""The lecture's worked loss example as a computation: scores, margins, losses, probabilities.

:func:`explain_scores` takes class scores and labels and returns every intermediate number of
the multiclass SVM loss and the softmax cross-entropy; :func:`format_table` lays them out as
the lecture's table (examples as columns, classes as rows). ``linclass explain`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_labels, check_positive
from linclass.losses import multiclass_hinge, softmax, softmax_cross_entropy
from linclass.losses._common import check_finite_scores

LECTURE_CLASSES = ("cat", "car", "frog")
# One row per image (cat, car, frog), one column per class, as in the lecture's table.
LECTURE_SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
LECTURE_LABELS = np.array([0, 1, 2])
LECTURE_SCORES.setflags(write=False)
LECTURE_LABELS.setflags(write=False)


@dataclass(frozen=True, eq=False)
class Explanation:
    """Every number of the worked example, for ``N`` examples and ``C`` classes.

    Attributes:
        classes: class names ``(C,)``.
        labels: correct class indices ``(N,)``.
        scores: class scores ``(N, C)``.
        margin: the SVM margin ``Delta``.
        margins: ``max(0, s_j - s_{y_i} + Delta)`` ``(N, C)``; 0 at the correct class, which
            the SVM sum leaves out.
        svm_losses: per-example SVM loss ``(N,)``.
        probabilities: softmax probabilities ``(N, C)``.
        cross_entropies: per-example ``-ln p_{y_i}`` ``(N,)``.
    """

    classes: tuple[str, ...]
    labels: np.ndarray
    scores: np.ndarray
    margin: float
    margins: np.ndarray
    svm_losses: np.ndarray
    probabilities: np.ndarray
    cross_entropies: np.ndarray

    @property
    def svm_loss(self) -> float:
        """The mean SVM loss over the examples."""
        return float(self.svm_losses.mean())

    @property
    def cross_entropy(self) -> float:
        """The mean cross-entropy over the examples."""
        return float(self.cross_entropies.mean())

    def to_dict(self) -> dict:
        """Plain Python values for JSON; the excluded correct-class margin is ``None``."""
        examples = []
        for i, label in enumerate(self.labels.tolist()):
            margins = self.margins[i].tolist()
            margins[label] = None
            examples.append(
                {
                    "label": label,
                    "class": self.classes[label],
                    "scores": self.scores[i].tolist(),
                    "margins": margins,
                    "svm_loss": float(self.svm_losses[i]),
                    "probabilities": self.probabilities[i].tolist(),
                    "cross_entropy": float(self.cross_entropies[i]),
                }
            )
        return {
            "classes": list(self.classes),
            "margin": self.margin,
            "examples": examples,
            "svm_loss": self.svm_loss,
            "cross_entropy": self.cross_entropy,
        }


def explain_scores(
    scores: ArrayLike = LECTURE_SCORES,
    labels: ArrayLike = LECTURE_LABELS,
    classes: tuple[str, ...] | list[str] | None = None,
    *,
    margin: float = 1.0,
) -> Explanation:
    """Compute the SVM and softmax losses of ``scores`` step by step.

    Args:
        scores: class scores ``(N, C)``, one row per example; the lecture's by default.
        labels: correct class indices ``(N,)``.
        classes: ``C`` class names; the lecture's (cat, car, frog) for its scores, otherwise
            ``class 0``, ``class 1``, ...
        margin: the SVM margin ``Delta > 0``.

    Returns:
        an :class:`Explanation`.

    Example:
        >>> explanation = explain_scores()
        >>> explanation.svm_losses.round(2).tolist(), round(explanation.svm_loss, 2)
        ([2.9, 0.0, 12.9], 5.27)
    """
    scores = check_finite_scores(scores).astype(np.float64, copy=False)
    n_samples, n_classes = scores.shape
    labels = check_labels(labels, n_samples, n_classes, name="labels")
    margin = check_positive(margin, "margin")
    classes = _class_names(classes, scores, n_classes)

    rows = np.arange(n_samples)
    margins = np.maximum(0.0, scores - scores[rows, labels][:, None] + margin)
    margins[rows, labels] = 0.0
    svm_losses, _ = multiclass_hinge(scores, labels, margin=margin, reduction="none")
    cross_entropies, _ = softmax_cross_entropy(scores, labels, reduction="none")
    return Explanation(
        classes=classes,
        labels=labels,
        scores=scores,
        margin=margin,
        margins=margins,
        svm_losses=svm_losses,
        probabilities=softmax(scores),
        cross_entropies=cross_entropies,
    )


def _class_names(
    classes: tuple[str, ...] | list[str] | None, scores: np.ndarray, n_classes: int
) -> tuple[str, ...]:
    if classes is None:
        if scores.shape == LECTURE_SCORES.shape and np.array_equal(scores, LECTURE_SCORES):
            return LECTURE_CLASSES
        return tuple(f"class {j}" for j in range(n_classes))
    names = tuple(str(name) for name in classes)
    if len(names) != n_classes:
        raise ValueError(f"classes has {len(names)} names but scores has {n_classes} columns (classes)")
    return names


def format_table(explanation: Explanation, decimals: int = 2) -> str:
    """Lay out an :class:`Explanation` as the lecture's table: examples as columns, classes as rows.

    Example:
        >>> table = format_table(explain_scores())
        >>> [line for line in table.splitlines() if line.startswith("SVM loss")][0].split()[-3:]
        ['2.90', '0.00', '12.90']
    """
    e = explanation
    headers = _example_headers(e)
    number = f"{{:.{decimals}f}}"
    margin_text = f"{e.margin:g}"
    lines: list[tuple[str, list[str]]] = [("", headers)]

    def section(title: str, values: np.ndarray, skip_correct: bool = False) -> None:
        lines.append((title, []))
        for j, name in enumerate(e.classes):
            cells = [
                "-" if skip_correct and e.labels[i] == j else number.format(values[i, j])
                for i in range(len(e.labels))
            ]
            lines.append((f"  {name}", cells))

    section("scores s_j", e.scores)
    section(f"margins max(0, s_j - s_y + {margin_text})", e.margins, skip_correct=True)
    lines.append(("SVM loss L_i", [number.format(v) for v in e.svm_losses]))
    section("softmax probabilities p_j", e.probabilities)
    lines.append(("cross-entropy -ln p_y", [number.format(v) for v in e.cross_entropies]))

    label_width = max(len(label) for label, cells in lines if cells)
    cell_width = max(len(cell) for _, cells in lines for cell in cells)
    rendered = []
    for label, cells in lines:
        if not cells:
            rendered.append(label)
            continue
        row = label.ljust(label_width) + "".join("  " + cell.rjust(cell_width) for cell in cells)
        rendered.append(row.rstrip())
    rendered.append(
        f"mean SVM loss {number.format(e.svm_loss)}; mean cross-entropy {number.format(e.cross_entropy)}"
    )
    return "\n".join(rendered)


def _example_headers(e: Explanation) -> list[str]:
    names = [e.classes[label] for label in e.labels]
    if len(set(names)) == len(names):
        return [f"{name} image" for name in names]
    return [f"#{i} {name}" for i, name in enumerate(names)]


def explain_example(model, x: ArrayLike, label: int, *, margin: float = 1.0) -> Explanation:
    """The worked example for one real input: a fitted classifier's scores of ``x`` and their losses.

    Args:
        model: a fitted ``LinearClassifier`` (``linclass.load`` gives one).
        x: one input, any shape with ``model.n_features_in_`` values (an image is flattened).
        label: the correct class as a column index into ``model.classes_``.
        margin: the SVM margin ``Delta``.

    Returns:
        an :class:`Explanation` of one example with the model's class names.

    Example:
        >>> from linclass import LinearClassifier
        >>> from linclass.datasets import load_digits
        >>> digits = load_digits()
        >>> model = LinearClassifier(loss="svm", optimizer="sgd", random_state=0)
        >>> model = model.fit(digits.X_train.reshape(-1, 64), digits.y_train)
        >>> losses = explain_example(model, digits.X_test[0], digits.y_test[0]).svm_losses
        >>> losses.shape, bool(losses[0] > 1)      # misclassified by a margin (the value varies by threads)
        ((1,), True)
    """
    from linclass.app.predict import model_class_names

    row = np.asarray(x).reshape(1, -1)
    if row.shape[1] != model.n_features_in_:
        raise ValueError(f"x has {row.shape[1]} values but the model expects {model.n_features_in_} features")
    scores = model.objective_.scores(model.params_, row).astype(np.float64)
    return explain_scores(scores, [label], model_class_names(model), margin=margin)
