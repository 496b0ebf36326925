"""linclass: linear classifiers — the multiclass SVM and the softmax classifier.

The score function is ``scores = X @ W + b`` with ``X (N, D)``, ``W (D, C)`` and ``b (C,)``.

    >>> import linclass
    >>> clf = linclass.LinearClassifier(loss="svm")        # doctest: +SKIP
    >>> clf.fit(X, y).save("model.npz")                    # doctest: +SKIP
    >>> linclass.load("model.npz").predict(X)              # doctest: +SKIP
"""

__version__ = "0.1.0"

__all__ = ["LinearClassifier", "LinearRegressor", "NotFittedError", "load", "__version__"]


def __getattr__(name: str):
    # The estimators pull in the whole library; importing them lazily keeps ``import linclass``
    # (and the command line's start-up) light.
    if name in ("LinearClassifier", "LinearRegressor", "NotFittedError"):
        from linclass import estimator

        return getattr(estimator, name)
    if name == "load":
        from linclass.estimator.persist import load

        return load
    raise AttributeError(f"module 'linclass' has no attribute {name!r}")
