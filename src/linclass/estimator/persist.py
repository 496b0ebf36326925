"""Saving and loading fitted estimators as linclass model files (see ``linclass.io``).

A model file holds ``W`` and ``b`` in the preprocessed space, the preprocessing arrays, the
classes with their dtype, the hyperparameters, the training history, the Platt slope where one
was fitted, and the ``image_shape_`` and ``class_names_`` a training run attached. Loading
rebuilds an estimator that
predicts bit-identically.
"""

from __future__ import annotations

import math
import os

import numpy as np

from linclass.estimator._checks import check_is_fitted
from linclass.io import ModelFileError, read_bundle, write_bundle
from linclass.losses import LOSSES, get_loss
from linclass.objective import Objective
from linclass.penalties import get_penalty
from linclass.preprocess import PREPROCESSORS, Affine
from linclass.schema import Fields, check_array


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


_MODEL_FIELDS = {
    "estimator", "hyperparameters", "n_features_in", "preprocess", "history", "n_iter", "image_shape",
    "class_names", "classes", "classes_dtype", "probability_slope", "single_output", "feature_names", "alpha",
}  # fmt: skip
_ARRAYS = {"W", "b", "preprocess_shift", "preprocess_scale", "class_weight"}


def load(path: str | os.PathLike):
    """Read a model file written by ``save`` and return the fitted estimator.

    Every metadata field and array is validated (see :mod:`linclass.schema`): types, ranges,
    and agreement with each other (``W (D, C)``, ``b (C,)``, ``D`` features, ``C`` classes and
    class names, an ``image_shape`` of ``D`` pixels). Anything else raises ``ModelFileError``
    naming the file and the field.
    """
    from linclass.estimator import LinearClassifier, LinearRegressor

    arrays, meta = read_bundle(path, kind="model")
    name = os.fspath(path)
    fields = Fields(meta, name)
    fields.only(_MODEL_FIELDS, {"estimator", "hyperparameters", "n_features_in", "preprocess"})
    factory = {"LinearClassifier": LinearClassifier, "LinearRegressor": LinearRegressor}[
        fields.str("estimator", ("LinearClassifier", "LinearRegressor"))
    ]
    regression = factory is LinearRegressor
    estimator, loss, penalty = _estimator(factory, fields.sub("hyperparameters"), regression)
    if set(arrays) - _ARRAYS:
        raise ModelFileError(f"{name}: holds unknown arrays {sorted(set(arrays) - _ARRAYS)}")
    W = check_array(name, "W", arrays.get("W"), shape=(None, None))
    n_features, n_outputs = W.shape
    fields.int("n_features_in", n_features, n_features)
    b = check_array(name, "b", arrays.get("b"), shape=(n_outputs,))
    if W.dtype != b.dtype:
        raise ModelFileError(f"{name}: arrays 'W' and 'b' have dtypes {W.dtype} and {b.dtype}; expected one")
    preprocess = fields.str("preprocess", tuple(PREPROCESSORS.names()) + ("affine",))
    moments = ("preprocess_shift", "preprocess_scale")
    transform = Affine.from_arrays(
        preprocess, {key: check_array(name, key, arrays.get(key), shape=(n_features,)) for key in moments}
    )
    class_weight = arrays.get("class_weight")
    if class_weight is not None:
        check_array(name, "class_weight", class_weight, shape=(n_outputs,))
        if (class_weight < 0).any():
            raise ModelFileError(f"{name}: array 'class_weight' holds negative weights")
    estimator.objective_ = Objective(
        loss=loss,
        penalty=penalty,
        alpha=fields.float("alpha", 0.0) if "alpha" in meta else float(estimator.alpha or 0.0),
        l1_ratio=float(estimator.l1_ratio),
        class_weight=class_weight,
        transform=transform,
        penalize_intercept=bool(getattr(estimator, "penalize_intercept", False)),
    )
    estimator.params_ = (W, b)
    estimator.n_features_in_ = n_features
    estimator.history_ = fields.numbers("history") if "history" in meta else {}
    estimator.n_iter_ = fields.int("n_iter") if "n_iter" in meta else 0
    image_shape = fields.list("image_shape", optional=True)
    if image_shape:
        if not (
            len(image_shape) in (2, 3)
            and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_shape)
            and math.prod(image_shape) == n_features
        ):
            raise fields.fail(
                "image_shape", f"(H, W) or (H, W, C) positive sizes of {n_features} values in all"
            )
        estimator.image_shape_ = tuple(image_shape)
    feature_names = fields.list("feature_names", length=n_features, optional=True)
    if feature_names is not None:
        if not all(isinstance(n, str) for n in feature_names):
            raise fields.fail("feature_names", f"a list of {n_features} strings, one per feature")
        estimator.feature_names_in_ = np.asarray(feature_names, dtype=object)
    W_raw, b_raw = estimator.objective_.effective_params(estimator.params_)
    if factory is LinearClassifier:
        estimator.classes_ = _classes(fields, n_outputs)
        class_names = fields.list("class_names", length=n_outputs, optional=True)
        if class_names:
            if not all(isinstance(c, str) for c in class_names):
                raise fields.fail("class_names", f"a list of {n_outputs} strings")
            estimator.class_names_ = tuple(class_names)
        estimator.coef_, estimator.intercept_ = W_raw.T.copy(), b_raw.copy()
        if "probability_slope" in meta:
            estimator.probability_slope_ = fields.float("probability_slope")
    else:
        for key in ("classes", "classes_dtype", "class_names", "probability_slope"):
            if key in meta:
                raise fields.fail(key, "no such field in a regressor's model file")
        single = fields.bool("single_output", True)
        if single and n_outputs != 1:
            raise fields.fail("single_output", f"false for W with {n_outputs} columns")
        estimator._single_output = single
        estimator.coef_ = W_raw[:, 0].copy() if single else W_raw.T.copy()
        estimator.intercept_ = float(b_raw[0]) if single else b_raw.copy()
    return estimator


def _estimator(factory, hyperparameters: Fields, regression: bool):
    """The estimator the hyperparameters describe, checked as ``fit`` would check them, with its
    resolved loss and penalty."""
    allowed = set(factory().get_params()) - {"random_state"}
    hyperparameters.only(allowed)
    try:
        estimator = factory(**hyperparameters.values)
        estimator._check_hyperparameters()
        loss = LOSSES["squared_error"] if regression else get_loss(estimator.loss, "classification")
        penalty = get_penalty(estimator.penalty)
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{hyperparameters.source}: field hyperparameters is refused ({exc})") from None
    return estimator, loss, penalty


def _classes(fields: Fields, n_classes: int) -> np.ndarray:
    classes = fields.list("classes", length=n_classes)
    dtype = fields.str("classes_dtype") if "classes_dtype" in fields.values else "object"
    if dtype == "object":
        if not all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in classes):
            raise fields.fail("classes", f"a list of {n_classes} strings or numbers")
        array = np.empty(n_classes, dtype=object)
        array[:] = classes
    else:
        try:
            kind = np.dtype(dtype).kind
            if kind not in "biufUS":
                raise TypeError(kind)
            array = np.array(classes, dtype=np.dtype(dtype))
        except (TypeError, ValueError, OverflowError):
            raise fields.fail("classes", f"a list of {n_classes} values of dtype {dtype!r}") from None
        if array.shape != (n_classes,):
            raise fields.fail("classes", f"a flat list of {n_classes} values")
    if len(set(array.tolist())) != n_classes:
        raise fields.fail("classes", f"{n_classes} distinct classes")
    return array
