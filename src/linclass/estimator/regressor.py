"""``LinearRegressor``: the lecture's gradient-descent example, ``L_i = |y_i - W x_i|^2``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from linclass import _validation as v
from linclass._devices import on_device_of, to_host
from linclass.estimator._base import LinearModelMixin
from linclass.estimator._checks import check_consistent_length, check_feature_names, column_or_1d, validate_X
from linclass.estimator._compat import BaseEstimator, RegressorMixin
from linclass.losses import LOSSES
from linclass.splits import split_indices


class LinearRegressor(LinearModelMixin, RegressorMixin, BaseEstimator):
    """Least-squares linear regression ``pred = X @ W + b`` trained by the same optimizers.

    Minimizes ``(1/N) sum_i |y_i - (x_i @ W + b)|^2 + alpha * R(W)``. ``y`` may be ``(N,)`` or
    ``(N, K)``; hyperparameters (``device`` and ``backend`` included) mean what they mean for
    ``LinearClassifier``: with ``early_stopping`` a seeded ``validation_fraction`` of the rows is
    held out, training stops when its loss (mean squared error) has not fallen by ``tol`` for
    ``n_iter_no_change`` epochs, and the best epoch's weights are kept; without it
    ``validation_fraction`` is not used. Learned attributes: ``coef_``, ``intercept_``,
    ``n_features_in_``, ``feature_names_in_`` (for a DataFrame with string column names),
    ``history_``, ``n_iter_``.

    Example:
        >>> import numpy as np
        >>> X = np.arange(20.0).reshape(10, 2)
        >>> reg = LinearRegressor(optimizer="lbfgs", alpha=0.0).fit(X, X @ [1.0, -2.0] + 3.0)
        >>> bool(np.allclose(reg.predict(X[:2]), [1.0, -1.0], atol=1e-3))
        True
    """

    def __init__(
        self,
        *,
        penalty: str | None = "l2",
        alpha: float = 1e-4,
        l1_ratio: float = 0.15,
        optimizer: str = "sgd",
        learning_rate: float = 0.01,
        schedule: str = "constant",
        batch_size: int = 200,
        max_iter: int = 1000,
        epochs: int = 50,
        momentum: float = 0.9,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        tol: float = 1e-4,
        preprocess: str = "standardize",
        random_state: int | np.random.Generator | None = None,
        dtype: str | None = None,
        verbose: bool = False,
        backend=None,
        device=None,
    ) -> None:
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.epochs = epochs
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.preprocess = preprocess
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose
        self.backend = backend
        self.device = device

    def fit(self, X: ArrayLike, y: ArrayLike) -> LinearRegressor:
        """Fit on ``X (N, D)`` and real targets ``y (N,)`` or ``(N, K)``; returns ``self``."""
        self._check_hyperparameters()
        check_feature_names(self, X, reset=True)
        X = validate_X(X, c_order=True)
        # Several outputs are (N, K); a single column is flattened with scikit-learn's warning.
        y = None if y is None else np.asarray(to_host(y))
        y = y if y is not None and y.ndim == 2 and y.shape[1] > 1 else column_or_1d(y)
        if y.dtype.kind == "O":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"Unknown label type: regression targets y must be numbers ({exc})") from exc
        if y.dtype.kind not in "fiub":
            raise ValueError(f"Unknown label type: regression targets y must be numbers, got dtype {y.dtype}")
        check_consistent_length(X, y)
        dtype = self._compute_dtype(X)
        y = y.astype(dtype)
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        rng = v.check_random_state(self.random_state)
        self.n_features_in_ = X.shape[1]
        self._single_output = y.ndim == 1
        targets = y.reshape(len(y), -1)
        n_outputs = targets.shape[1]
        self.objective_ = self._make_objective(X, LOSSES["squared_error"], None)
        params = (np.zeros((X.shape[1], n_outputs), dtype), np.zeros(n_outputs, dtype))
        rows, X_val, y_val = None, None, None
        if self.early_stopping:
            rows, val_rows = _holdout_rows(len(targets), self.validation_fraction, rng)
            X_val, y_val = X[on_device_of(X, val_rows)], targets[val_rows]
        # on a GPU backend the data moves to the device here, once for the whole fit
        X, targets, X_val, y_val = self._on_backend(X, targets, X_val, y_val)
        result = self._run_loop(self.objective_, params, X, targets, X_val, y_val, rng, rows=rows)
        self.params_ = tuple(to_host(p) for p in result.params)
        self.history_ = result.history
        self.n_iter_ = int(result.n_iter)
        W_raw, b_raw = self.objective_.effective_params(self.params_)
        self.coef_ = W_raw[:, 0].copy() if self._single_output else W_raw.T.copy()
        self.intercept_ = float(b_raw[0]) if self._single_output else b_raw.copy()
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions ``(N,)`` (or ``(N, K)`` for 2-D targets)."""
        pred = self._raw_output(X)
        return pred[:, 0] if self._single_output else pred


def _holdout_rows(n_samples: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(train_rows, val_rows)`` with ``round(fraction * n_samples)`` validation rows."""
    n_val = int(round(fraction * n_samples))
    if n_val < 1 or n_val >= n_samples:
        raise ValueError(
            f"early_stopping needs validation rows, but validation_fraction={fraction!r} of {n_samples} "
            "samples gives none (or leaves no training rows); raise validation_fraction or pass more samples"
        )
    train_rows, val_rows = split_indices(np.zeros(n_samples), fraction, random_state=rng)
    return train_rows, val_rows
