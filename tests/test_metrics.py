"""Classification metrics against scikit-learn's."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linclass import metrics

sk_metrics = pytest.importorskip("sklearn.metrics")


def _labels(seed: int, n: int = 200, n_classes: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(n_classes, size=n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(n_classes, size=n))
    return y_true, y_pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_matches_sklearn(seed):
    y_true, y_pred = _labels(seed)
    assert metrics.accuracy(y_true, y_pred) == sk_metrics.accuracy_score(y_true, y_pred)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_matrix_matches_sklearn(seed):
    y_true, y_pred = _labels(seed, n_classes=6)
    expected = sk_metrics.confusion_matrix(y_true, y_pred, labels=range(7))
    cm = metrics.confusion_matrix(y_true, y_pred, n_classes=7)
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64
    assert cm[6].sum() == 0 and cm[:, 6].sum() == 0


def test_confusion_matrix_default_size_and_layout():
    cm = metrics.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2])
    assert cm.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]


@pytest.mark.parametrize("seed", [0, 3])
def test_classification_report_matches_sklearn_output_dict(seed):
    y_true, y_pred = _labels(seed, n=120, n_classes=4)
    y_pred[y_pred == 3] = 2  # class 3 is never predicted: its precision divides by zero
    names = ["cat", "car", "frog", "ship"]
    report = metrics.classification_report(y_true, y_pred, names)
    expected = sk_metrics.classification_report(
        y_true, y_pred, labels=range(4), target_names=names, output_dict=True, zero_division=0
    )
    assert list(report) == list(expected)
    assert report["accuracy"] == pytest.approx(expected["accuracy"])
    for key in [*names, "macro avg", "weighted avg"]:
        for metric in ("precision", "recall", "f1-score"):
            assert report[key][metric] == pytest.approx(expected[key][metric], abs=1e-12), (key, metric)
        assert report[key]["support"] == expected[key]["support"]
    assert report["ship"]["precision"] == 0.0


def test_report_lists_a_class_without_examples():
    report = metrics.classification_report([0, 0, 1], [0, 1, 1], n_classes=3)
    assert report["2"] == {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}
    assert report["macro avg"]["recall"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_per_class_scores_from_confusion_matrix():
    scores = metrics.per_class_scores([[3, 1], [0, 0]])
    assert scores["precision"].tolist() == [1.0, 0.0]
    assert scores["recall"].tolist() == [0.75, 0.0]
    assert scores["f1"].tolist() == pytest.approx([6 / 7, 0.0])
    assert scores["support"].tolist() == [4, 0]


def test_format_report_lays_out_rows_and_averages():
    report = metrics.classification_report([0, 1, 1], [0, 1, 0], ["cat", "dog"])
    lines = metrics.format_report(report).splitlines()
    assert lines[0].split() == ["class", "precision", "recall", "f1-score", "support"]
    assert lines[1].split() == ["cat", "0.500", "1.000", "0.667", "1"]
    assert lines[2].split() == ["dog", "1.000", "0.500", "0.667", "2"]
    assert lines[4].split() == ["accuracy", "0.667", "3"]
    assert lines[5].split() == ["macro", "avg", "0.750", "0.750", "0.667", "3"]


def test_format_confusion_matrix_counts_and_fractions():
    text = metrics.format_confusion_matrix([[5, 1], [2, 7]], ["cat", "dog"])
    assert text.splitlines() == [
        "true \\ predicted  cat  dog",
        "cat                 5    1",
        "dog                 2    7",
    ]
    fractions = metrics.format_confusion_matrix(metrics.normalize_rows([[5, 1], [2, 7]]), ["cat", "dog"])
    assert fractions.splitlines()[1].split() == ["cat", "0.83", "0.17"]


def test_long_class_names_head_rows_and_numbers_head_columns():
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    cm = np.arange(100).reshape(10, 10) * 11
    lines = metrics.format_confusion_matrix(cm, names).splitlines()
    assert lines[0].split() == ["true", "\\", "predicted", *map(str, range(10))]
    assert lines[2].split() == ["1", "automobile", *map(str, cm[1])]
    assert max(len(line) for line in lines) <= 100


def test_normalized_rows_have_the_recall_on_the_diagonal():
    y_true, y_pred = _labels(4)
    cm = metrics.confusion_matrix(y_true, y_pred, 5)
    normalized = metrics.normalize_rows(cm)
    np.testing.assert_allclose(normalized.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(normalized), sk_metrics.recall_score(y_true, y_pred, average=None))
    assert metrics.normalize_rows([[0, 0], [1, 1]]).tolist() == [[0.0, 0.0], [0.5, 0.5]]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_confusion_matrix_counts_every_example_once(pairs):
    y_true, y_pred = (np.array(column) for column in zip(*pairs, strict=True))
    cm = metrics.confusion_matrix(y_true, y_pred, 4)
    assert cm.sum() == len(pairs)
    assert np.trace(cm) == int(np.sum(y_true == y_pred))
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(np.trace(cm) / len(pairs))


def test_evaluate_model_on_a_fitted_classifier():
    from sklearn.datasets import load_iris

    from linclass import LinearClassifier

    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    model = LinearClassifier(epochs=30, random_state=0).fit(X, labels)
    evaluation = metrics.evaluate_model(model, X, y)
    predicted = np.searchsorted(model.classes_, model.predict(X))
    assert evaluation.classes == ("setosa", "versicolor", "virginica")
    assert evaluation.accuracy == pytest.approx(model.score(X, labels))
    np.testing.assert_array_equal(evaluation.confusion, sk_metrics.confusion_matrix(y, predicted))
    document = json.loads(json.dumps(evaluation.to_dict()))
    assert document["n_samples"] == 150
    assert document["n_correct"] == int(np.sum(predicted == y))
    assert document["per_class"]["virginica"]["recall"] == pytest.approx(
        sk_metrics.recall_score(y, predicted, average=None)[2]
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: metrics.accuracy([0, 1], [0]), ValueError, "y_true has 2 labels but y_pred has 1"),
        (lambda: metrics.accuracy([], []), ValueError, "y_true is empty"),
        (lambda: metrics.accuracy([0.5], [0]), TypeError, "y_true must hold integer class indices"),
        (lambda: metrics.confusion_matrix([0, -1], [0, 0]), ValueError, "y_true contains negative"),
        (
            lambda: metrics.confusion_matrix([0, 3], [0, 0], n_classes=3),
            ValueError,
            r"y_true contains class index 3 but n_classes=3 \(expected 0..2\)",
        ),
        (lambda: metrics.confusion_matrix([[0]], [[0]]), ValueError, "y_true must be 1-D"),
        (
            lambda: metrics.classification_report([0, 1], [0, 1], ["a", "a"]),
            ValueError,
            "classes must be distinct",
        ),
        (lambda: metrics.per_class_scores([[1, 2]]), ValueError, r"cm must be a square \(C, C\) array"),
    ],
)
def test_invalid_input_is_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()
