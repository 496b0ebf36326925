"""scikit-learn style estimators: ``LinearClassifier`` and ``LinearRegressor``."""

from linclass.estimator._checks import NotFittedError
from linclass.estimator.classifier import LinearClassifier
from linclass.estimator.regressor import LinearRegressor

__all__ = ["LinearClassifier", "LinearRegressor", "NotFittedError"]
