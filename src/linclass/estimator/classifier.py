"""``LinearClassifier``: the multiclass SVM and the softmax classifier with the scikit-learn contract."""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from linclass import _validation as v
from linclass._devices import on_device_of, to_host
from linclass.calibration import fit_platt, platt_probabilities
from linclass.estimator._base import LinearModelMixin
from linclass.estimator._checks import (
    check_consistent_length,
    check_feature_names,
    classification_labels,
    column_or_1d,
    validate_X,
)
from linclass.estimator._cluster import (
    cluster_kernels,
    cluster_labels,
    gather,
    labels_of,
    lazy_model_scores,
    probabilities,
    training_data,
)
from linclass.estimator._compat import BaseEstimator, ClassifierMixin
from linclass.kernels.cluster_data import is_dask_collection
from linclass.losses import get_loss, softmax
from linclass.splits import split_indices
from linclass.train import DivergenceError

# Below this many samples a held-out split would leave classes unseen, so Platt scaling is
# fitted on the training scores instead.
_MIN_HOLDOUT_SAMPLES = 50


class LinearClassifier(LinearModelMixin, ClassifierMixin, BaseEstimator):
    """Linear classifier ``scores = X @ W + b`` trained on a multiclass loss plus a penalty.

    Minimizes ``(1/N) sum_i w_{y_i} L_i + alpha * R(W)``: ``loss="softmax"`` is the softmax
    classifier (cross-entropy), ``"svm"`` the lecture's multiclass hinge loss, ``"squared_hinge"``
    its squared form, ``"crammer_singer"`` the max-margin variant and ``"multi_margin"`` PyTorch's
    ``MultiMarginLoss``. Inputs are preprocessed by a transform folded into ``W, b`` (so uint8
    images are never copied to float), and ``coef_`` / ``intercept_`` act on raw inputs.

    Args:
        loss: a classification loss of ``linclass.losses.LOSSES`` (a name or its ``LossSpec``).
        penalty: ``"l2"`` (sum W²), ``"l1"``, ``"elasticnet"`` or None.
        alpha: regularization strength; None (the default) is ``1 / (2 N)`` for ``N`` training
            rows, the penalty of scikit-learn's ``LogisticRegression(C=1)`` and ``LinearSVC(C=1)``
            (``alpha = 1 / (2 C N)`` in general; see the README).
        l1_ratio: elastic-net mixing, ``R = l1_ratio * |W|_1 + (1 - l1_ratio) * |W|²``.
        penalize_intercept: add ``alpha * |b|²`` (``b`` acting on the preprocessed inputs) to the
            objective, as scikit-learn's ``LinearSVC(intercept_scaling=1)`` penalizes its
            intercept; with ``penalty="l2"`` and the full-batch ``optimizer="lbfgs"`` only.
        optimizer: ``"auto"`` or a name in ``linclass.optim.OPTIMIZERS`` (sgd, adam, gd, lbfgs,
            random_search, ...). ``"auto"`` solves a smooth objective (softmax or squared hinge
            with an L2 or no penalty) exactly by L-BFGS when ``N * D <= 1e7``, and runs minibatch
            SGD otherwise (see ``linclass.estimator._base.resolve_optimizer``).
        learning_rate: step size of gradient optimizers (search scale for the gradient-free ones).
        schedule: learning-rate schedule for gd, sgd and adam (constant, step, exponential,
            inverse_time, cosine — which decays over ``epochs``); the other optimizers ignore it.
        batch_size: minibatch size for sgd and adam.
        max_iter: most iterations of ``lbfgs`` (scikit-learn's ``max_iter``); a run that stops
            unconverged warns with ``ConvergenceWarning``.
        epochs: passes over the data for sgd and adam; steps for gd and the searches.
        momentum: momentum for sgd.
        early_stopping: stop when the validation score stops improving and restore the best epoch.
        validation_fraction: share of the data held out for early stopping and for Platt scaling.
        n_iter_no_change: patience of early stopping, in epochs.
        tol: improvement below which an epoch does not count as progress.
        class_weight: None, ``"balanced"`` or a dict ``{label: weight}``.
        preprocess: ``"standardize"``, ``"center-scale"``, ``"center"``, ``"scale"`` or ``"none"``.
        random_state: seed or ``numpy.random.Generator``; same seed, same bits.
        dtype: computation dtype, None (float64 for float64 input, else float32), "float32" or "float64".
        verbose: show a progress bar on a terminal.
        backend: the kernels doing the array work: None (Numba when installed, else NumPy), a
            name in ``linclass.kernels.KERNELS`` or an object implementing ``linclass.kernels.Kernels``.
        device: a torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``) to train on with the PyTorch
            backend, or None: the device of a ``torch.Tensor`` ``X``, else the CPU backends.
            Tensors stay on their device; NumPy data is moved there once per fit; ``coef_`` and
            the other learned attributes are NumPy arrays whatever the device.

    Attributes:
        classes_: the labels, sorted; ``coef_ (C, D)``, ``intercept_ (C,)`` on raw inputs;
        ``n_features_in_``; ``feature_names_in_`` (the column names of a DataFrame ``X``, when
        they are all strings); ``history_`` (per-epoch loss and accuracies); ``n_iter_``;
        ``probability_slope_`` (Platt scaling, for losses without probabilities); ``optimizer_``
        (the optimizer ``"auto"`` chose).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LinearClassifier(loss="svm", optimizer="sgd", learning_rate=0.1, random_state=0)
        >>> round(clf.fit(X, y).score(X, y), 2)
        0.96
    """

    def __init__(
        self,
        *,
        loss: str = "softmax",
        penalty: str | None = "l2",
        alpha: float | None = None,
        l1_ratio: float = 0.15,
        penalize_intercept: bool = False,
        optimizer: str = "auto",
        learning_rate: float = 0.01,
        schedule: str = "cosine",
        batch_size: int = 64,
        max_iter: int = 1000,
        epochs: int = 20,
        momentum: float = 0.9,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        tol: float = 1e-4,
        class_weight: dict | str | None = None,
        preprocess: str = "standardize",
        random_state: int | np.random.Generator | None = None,
        dtype: str | None = None,
        verbose: bool = False,
        backend=None,
        device=None,
    ) -> None:
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.penalize_intercept = penalize_intercept
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
        self.class_weight = class_weight
        self.preprocess = preprocess
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose
        self.backend = backend
        self.device = device

    # -- fitting -------------------------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        callbacks=(),
        checkpoint=None,
        checkpoint_every: int | None = None,
        resume=None,
    ) -> LinearClassifier:
        """Train on ``X (N, D)`` and labels ``y (N,)`` of any type; returns ``self``.

        Args:
            validation_data: ``(X_val, y_val)`` to use for validation metrics, early stopping and
                Platt scaling instead of holding out ``validation_fraction`` of ``X``.
            callbacks, checkpoint, checkpoint_every, resume: passed to ``linclass.train.fit``
                (``resume`` is a ``TrainState`` of an interrupted run on the same data).
        """
        self._check_hyperparameters()
        check_feature_names(self, X, reset=True)
        cluster = cluster_kernels(self.backend, X)
        if cluster is not None:
            X = training_data(X, cluster)
        X, y_idx, classes = self._validate_training_data(X, y, classes=None)
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        rng = v.check_random_state(self.random_state)
        spec = get_loss(self.loss, "classification")
        rows = None
        if validation_data is not None:
            X_val = validate_X(validation_data[0], name="X_val", n_features=X.shape[1], c_order=True)
            y_val = self._encode(column_or_1d(validation_data[1], "y_val"))
        elif cluster is not None and self.early_stopping:
            raise ValueError(
                "early_stopping=True with dask input needs validation_data=(X_val, y_val): a cluster "
                "fit holds out no rows by itself"
            )
        elif cluster is None and (self.early_stopping or not spec.probabilistic):
            rows, X_val, y_val = _holdout(X, y_idx, self.validation_fraction, rng)
        else:
            X_val, y_val = None, None

        # Preprocessing statistics use every row (they ignore labels); training rows are indexed,
        # never copied, so a held-out split costs no copy of X.
        n_train = X.shape[0] if rows is None else rows.shape[0]
        class_weight = self._class_weights(y_idx, len(classes))
        self.objective_ = self._make_objective(X, spec, class_weight, n_train, cluster)
        y_train = y_idx if cluster is None else cluster_labels(y_idx, X, cluster)
        dtype = self._compute_dtype(X)
        params = (np.zeros((X.shape[1], len(classes)), dtype), np.zeros(len(classes), dtype))
        # on a GPU backend the data moves to the device here, once for the whole fit
        X, y_train, X_val, y_val_train = self._on_backend(X, y_train, X_val, y_val)
        try:
            result = self._run_loop(
                self.objective_,
                params,
                X,
                y_train,
                X_val,
                y_val_train,
                rng,
                resume=resume,
                callbacks=callbacks,
                checkpoint=checkpoint,
                checkpoint_every=checkpoint_every,
                rows=rows,
            )
        except DivergenceError as exc:
            # Keep the last finite weights of a diverged run so the estimator stays usable.
            self._set_fitted(exc.params, {}, 0)
            raise
        finally:
            if cluster is not None:  # the fitted model holds no client
                self.objective_ = dataclasses.replace(self.objective_, kernels=cluster.local)
        self._set_fitted(result.params, result.history, result.n_iter)
        if not spec.probabilistic:
            X_cal, y_cal = (X, y_idx) if X_val is None else (X_val, y_val)
            if is_dask_collection(X_cal):
                scores = gather(cluster, lazy_model_scores(X_cal, self.objective_, self.params_))
            else:
                scores = self.objective_.scores(self.params_, X_cal)
            self.probability_slope_ = fit_platt(scores, y_cal)
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> LinearClassifier:
        """One epoch over ``X, y``, continuing from the current weights and optimizer state.

        The first call needs ``classes`` (all labels that will ever appear); the preprocessing
        is fitted on that first batch.
        """
        if is_dask_collection(X):
            raise TypeError(
                "partial_fit takes arrays in memory; for dask input use fit, which passes over the "
                "blocks on the workers"
            )
        first_call = not hasattr(self, "classes_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        self._check_hyperparameters()
        check_feature_names(self, X, reset=first_call)
        known = None if first_call else self.classes_
        X, y_idx, all_classes = self._validate_training_data(
            X, y, classes=known if classes is None else classes
        )
        if not first_call and not np.array_equal(all_classes, self.classes_):
            raise ValueError(f"classes={all_classes.tolist()} differs from the classes of the first call")
        rng = v.check_random_state(self.random_state)
        if first_call:
            self.classes_ = all_classes
            self.n_features_in_ = X.shape[1]
            spec = get_loss(self.loss, "classification")
            self.objective_ = self._make_objective(X, spec, self._class_weights(y_idx, len(all_classes)))
            dtype = self._compute_dtype(X)
            self.params_ = (
                np.zeros((X.shape[1], len(all_classes)), dtype),
                np.zeros(len(all_classes), dtype),
            )
            self._train_state = None
            self.history_ = {}
            self.n_iter_ = 0
        elif X.shape[1] != self.n_features_in_:
            validate_X(X, n_features=self.n_features_in_, estimator_name=type(self).__name__)
        resume = getattr(self, "_train_state", None)
        if resume is not None and resume.n_samples != X.shape[0]:
            resume = None
        epochs = 1 if resume is None else resume.epoch + 1
        X, y_train = self._on_backend(X, y_idx)
        result = self._run_loop(
            self.objective_, self.params_, X, y_train, None, None, rng, resume=resume, epochs=epochs
        )
        self._train_state = result.state
        if resume is None:
            history = {key: self.history_.get(key, []) + list(vals) for key, vals in result.history.items()}
            self._set_fitted(result.params, history, self.n_iter_ + result.n_iter)
        else:  # a resumed run's history and epoch count already include the earlier calls
            self._set_fitted(result.params, result.history, result.n_iter)
        if not self.objective_.loss.probabilistic:
            self.probability_slope_ = fit_platt(self.objective_.scores(self.params_, X), y_idx)
        return self

    def _validate_training_data(self, X, y, classes):
        X = validate_X(X, c_order=True)
        y = classification_labels(column_or_1d(y))
        check_consistent_length(X, y)
        if classes is None:
            classes = np.unique(y)
            if classes.shape[0] < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data, but the "
                    f"data contains only one class: {classes.tolist()[0]!r}"
                )
        else:
            classes = np.unique(np.asarray(classes))
        return X, _encode_labels(y, classes), classes

    def _encode(self, y: np.ndarray) -> np.ndarray:
        return _encode_labels(classification_labels(y), self.classes_)

    def _class_weights(self, y_idx: np.ndarray, n_classes: int) -> np.ndarray | None:
        if self.class_weight is None:
            return None
        if self.class_weight == "balanced":  # the schema has checked the value
            counts = np.bincount(y_idx, minlength=n_classes).astype(np.float64)
            return len(y_idx) / (n_classes * np.maximum(counts, 1))
        weights = np.ones(n_classes)
        for label, weight in self.class_weight.items():
            position = np.flatnonzero(self.classes_ == label)
            if position.size == 0:
                raise ValueError(
                    f"class_weight has label {label!r}, which is not in classes {self.classes_.tolist()}"
                )
            weights[position[0]] = v.check_positive(weight, f"class_weight[{label!r}]", allow_zero=True)
        return weights

    def _set_fitted(self, params, history, n_iter: int) -> None:
        self.params_ = tuple(to_host(p) for p in params)  # weights trained on a GPU come to the host
        W_raw, b_raw = self.objective_.effective_params(self.params_)
        self.coef_ = W_raw.T.copy()
        self.intercept_ = b_raw.copy()
        if history is not None:
            self.history_ = history
            self.n_iter_ = int(n_iter)

    # -- prediction ----------------------------------------------------------------------------

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Class scores ``(N, C)``; for two classes the margin ``s_1 - s_0`` of shape ``(N,)``."""
        scores = self._raw_output(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Labels of the highest-scoring class, shape ``(N,)``."""
        scores = self._raw_output(X)
        if is_dask_collection(scores):
            return labels_of(scores, self.classes_)
        return self.classes_[scores.argmax(axis=1)]

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (labels may be a tensor on any device)."""
        return super().score(X, np.asarray(to_host(y)), sample_weight=sample_weight)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities ``(N, C)``: softmax of the scores, or Platt scaling for margin losses."""
        scores = self._raw_output(X)
        if is_dask_collection(scores):
            slope = getattr(self, "probability_slope_", None)
            return probabilities(scores, self.objective_.loss.probabilistic, slope)
        if self.objective_.loss.probabilistic:
            return softmax(scores.astype(np.float64))
        return platt_probabilities(scores, self.probability_slope_)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Logarithm of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


def _encode_labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Class indices of labels ``y`` in the sorted ``classes``; unknown labels are an error."""
    y_idx = np.searchsorted(classes, y)
    unknown = (y_idx >= len(classes)) | (classes[np.minimum(y_idx, len(classes) - 1)] != y)
    if unknown.any():
        raise ValueError(f"y contains label {y[unknown].tolist()[0]!r} not in classes {classes.tolist()}")
    return y_idx.astype(np.int64)


def _holdout(X: np.ndarray, y_idx: np.ndarray, fraction: float, rng: np.random.Generator):
    """Stratified ``(train_rows, X_val, y_val)``; ``(None, None, None)`` when the data is too small."""
    counts = np.bincount(y_idx)
    if y_idx.shape[0] < _MIN_HOLDOUT_SAMPLES or counts[counts > 0].min() * fraction < 1:
        return None, None, None
    train_idx, val_idx = split_indices(y_idx, fraction, stratify=True, random_state=rng)
    return train_idx, X[on_device_of(X, val_idx)], y_idx[val_idx]
