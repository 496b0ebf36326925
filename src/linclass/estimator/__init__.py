"""scikit-learn style estimators: ``LinearClassifier``, ``LinearClassifierCV`` and ``LinearRegressor``."""

from linclass.estimator._checks import NotFittedError
from linclass.estimator.classifier import LinearClassifier
from linclass.estimator.cv import LinearClassifierCV
from linclass.estimator.regressor import LinearRegressor

__all__ = ["LinearClassifier", "LinearClassifierCV", "LinearRegressor", "NotFittedError"]
