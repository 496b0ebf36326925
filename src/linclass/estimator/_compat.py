"""scikit-learn base classes when scikit-learn is installed, minimal stand-ins otherwise.

linclass needs only NumPy; with scikit-learn present the estimators are genuine scikit-learn
estimators (``clone``, ``Pipeline``, ``GridSearchCV``, HTML repr, estimator tags).
"""

from __future__ import annotations

import inspect

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:

    class BaseEstimator:  # type: ignore[no-redef]
        """``get_params`` / ``set_params`` from the ``__init__`` signature, as scikit-learn does."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            signature = inspect.signature(cls.__init__)
            return sorted(p.name for p in signature.parameters.values() if p.name != "self")

        def get_params(self, deep: bool = True) -> dict:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(
                        f"Invalid parameter {key!r} for estimator {type(self).__name__}; "
                        f"valid parameters are {valid}"
                    )
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class ClassifierMixin:  # type: ignore[no-redef]
        _estimator_type = "classifier"

        def score(self, X, y, sample_weight=None) -> float:
            """Mean accuracy on ``X``, ``y`` (weighted by ``sample_weight`` when given)."""
            return float(np.average(self.predict(X) == np.asarray(y), weights=sample_weight))

    class RegressorMixin:  # type: ignore[no-redef]
        _estimator_type = "regressor"

        def score(self, X, y) -> float:
            """Coefficient of determination R² on ``X``, ``y``."""
            y = np.asarray(y, dtype=np.float64)
            residual = ((y - self.predict(X)) ** 2).sum()
            total = ((y - y.mean(axis=0)) ** 2).sum()
            return float(1.0 - residual / total) if total > 0 else 0.0


try:
    from sklearn.exceptions import ConvergenceWarning
except ImportError:

    class ConvergenceWarning(UserWarning):  # type: ignore[no-redef]
        """An iterative fit stopped before its convergence test was met (scikit-learn's name)."""


__all__ = ["BaseEstimator", "ClassifierMixin", "ConvergenceWarning", "RegressorMixin"]
