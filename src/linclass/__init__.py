"""linclass: linear classifiers — the multiclass SVM and the softmax classifier.

The score function is ``scores = X @ W + b`` with ``X (N, D)``, ``W (D, C)`` and ``b (C,)``.

    >>> import linclass
    >>> from linclass.datasets import load_digits
    >>> digits = load_digits().flatten()
    >>> X, y = digits.X_train, digits.y_train                # (1438, 64) uint8, (1438,)
    >>> clf = linclass.LinearClassifier(loss="svm", optimizer="sgd", random_state=0)
    >>> clf.fit(X, y).save("model.npz")
    >>> linclass.load("model.npz").predict(digits.X_test[:5])
    array([9, 9, 2, 4, 6])
    >>> digits.y_test[:5]
    array([5, 9, 2, 4, 6])
"""

__version__ = "0.1.0"

__all__ = [
    "LinearClassifier", "LinearClassifierCV", "LinearRegressor", "NotFittedError", "load", "__version__"
]


def __getattr__(name: str):
    # The estimators pull in the whole library; importing them lazily keeps ``import linclass``
    # (and the command line's start-up) light.
    if name in ("LinearClassifier", "LinearClassifierCV", "LinearRegressor", "NotFittedError"):
        from linclass import estimator

        return getattr(estimator, name)
    if name == "load":
        from linclass.estimator.persist import load

        return load
    raise AttributeError(f"module 'linclass' has no attribute {name!r}")
