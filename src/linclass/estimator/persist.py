"""Saving and loading fitted estimators as linclass model files (see ``linclass.io``).

A model file holds ``W`` and ``b`` in the preprocessed space, the preprocessing arrays, the
classes with their dtype, the hyperparameters, the training history, the Platt slope where one
was fitted, and the ``image_shape_`` and ``class_names_`` a training run attached. Loading
rebuilds an estimator that
predicts bit-identically.
"""

from __future__ import annotations

import os

import numpy as np

from linclass.estimator._checks import check_is_fitted
from linclass.io import ModelFileError, read_bundle, write_bundle
from linclass.losses import LOSSES, get_loss
from linclass.objective import Objective
from linclass.penalties import get_penalty
from linclass.preprocess import Affine


def save(estimator, path: str | os.PathLike) -> None:
    """Write a fitted ``LinearClassifier`` or ``LinearRegressor`` to ``path`` atomically."""
    check_is_fitted(estimator)
    W, b = estimator.params_
    objective = estimator.objective_
    arrays = {"W": W, "b": b, **objective.transform.arrays()}
    if objective.class_weight is not None:
        arrays["class_weight"] = objective.class_weight
    # where the arithmetic ran is no part of the model: a loaded model uses the default kernels
    # where a model was trained is no part of it: the file loads and predicts on any machine
    machine = ("random_state", "backend", "device")
    params = {k: val for k, val in estimator.get_params().items() if k not in machine}
    if isinstance(params.get("class_weight"), dict):
        params["class_weight"] = None  # the resolved weights are stored as an array
    names = getattr(estimator, "feature_names_in_", None)
    metadata = {
        "estimator": type(estimator).__name__,
        "hyperparameters": params,
        "n_features_in": int(estimator.n_features_in_),
        "preprocess": objective.transform.name,
        "history": {key: [float(x) for x in values] for key, values in estimator.history_.items()},
        "n_iter": int(estimator.n_iter_),
        "image_shape": list(getattr(estimator, "image_shape_", None) or []) or None,
        "class_names": list(getattr(estimator, "class_names_", None) or []) or None,
        "feature_names": None if names is None else [str(name) for name in names],
    }
    if hasattr(estimator, "classes_"):
        classes = estimator.classes_
        metadata["classes"] = [c.item() if isinstance(c, np.generic) else c for c in classes]
        metadata["classes_dtype"] = "object" if classes.dtype == object else classes.dtype.str
    if hasattr(estimator, "probability_slope_"):
        metadata["probability_slope"] = float(estimator.probability_slope_)
    if hasattr(estimator, "_single_output"):
        metadata["single_output"] = bool(estimator._single_output)
    metadata["alpha"] = float(estimator.objective_.alpha)  # alpha=None resolves to 1 / (2 N) in fit
    write_bundle(path, arrays, metadata, kind="model")


def load(path: str | os.PathLike):
    """Read a model file written by ``save`` and return the fitted estimator."""
    from linclass.estimator import LinearClassifier, LinearRegressor

    arrays, meta = read_bundle(path, kind="model")
    name = os.fspath(path)
    factories = {"LinearClassifier": LinearClassifier, "LinearRegressor": LinearRegressor}
    try:
        factory = factories[meta["estimator"]]
        estimator = factory(**meta["hyperparameters"])
        W, b = arrays["W"], arrays["b"]
        transform = Affine.from_arrays(meta["preprocess"], arrays)
        n_features = int(meta["n_features_in"])
        task = "regression" if factory is LinearRegressor else "classification"
        loss = LOSSES["squared_error"] if task == "regression" else get_loss(estimator.loss, task)
        penalty = get_penalty(estimator.penalty)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{name}: the model file lacks or garbles an entry ({exc})") from exc
    if (
        W.ndim != 2
        or W.shape[0] != n_features
        or b.shape != (W.shape[1],)
        or transform.n_features != n_features
    ):
        raise ModelFileError(
            f"{name}: array shapes disagree (W {W.shape}, b {b.shape}, {n_features} features)"
        )
    estimator.objective_ = Objective(
        loss=loss,
        penalty=penalty,
        alpha=float(meta.get("alpha", estimator.alpha if estimator.alpha is not None else 0.0)),
        l1_ratio=float(estimator.l1_ratio),
        class_weight=arrays.get("class_weight"),
        transform=transform,
    )
    estimator.params_ = (W, b)
    estimator.n_features_in_ = n_features
    estimator.history_ = meta.get("history", {})
    estimator.n_iter_ = int(meta.get("n_iter", 0))
    if meta.get("image_shape"):
        estimator.image_shape_ = tuple(int(d) for d in meta["image_shape"])
    if meta.get("class_names"):
        estimator.class_names_ = tuple(str(name) for name in meta["class_names"])
    names = meta.get("feature_names")
    if names is not None:
        strings = isinstance(names, list) and all(isinstance(n, str) for n in names)
        if not (strings and len(names) == n_features):
            raise ModelFileError(f"{name}: feature_names must be {n_features} strings, one per feature")
        estimator.feature_names_in_ = np.asarray(names, dtype=object)
    W_raw, b_raw = estimator.objective_.effective_params(estimator.params_)
    if factory is LinearClassifier:
        dtype = meta.get("classes_dtype", "object")
        estimator.classes_ = np.array(meta["classes"], dtype=object if dtype == "object" else np.dtype(dtype))
        if estimator.classes_.shape != (W.shape[1],):
            raise ModelFileError(f"{name}: {len(meta['classes'])} classes but W has {W.shape[1]} columns")
        estimator.coef_, estimator.intercept_ = W_raw.T.copy(), b_raw.copy()
        if "probability_slope" in meta:
            estimator.probability_slope_ = float(meta["probability_slope"])
    else:
        estimator._single_output = bool(meta.get("single_output", True))
        single = estimator._single_output
        estimator.coef_ = W_raw[:, 0].copy() if single else W_raw.T.copy()
        estimator.intercept_ = float(b_raw[0]) if single else b_raw.copy()
    return estimator
