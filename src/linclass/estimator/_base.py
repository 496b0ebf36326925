"""What the classifier and the regressor share: hyperparameter checks and the call into the loop."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np

from linclass import hyperparameters as schema
from linclass._devices import is_tensor, to_host
from linclass.estimator._checks import check_feature_names, check_is_fitted, validate_X
from linclass.estimator._compat import ConvergenceWarning
from linclass.kernels import Kernels, get_kernels
from linclass.kernels.cluster_data import is_dask_collection
from linclass.losses import LossSpec
from linclass.objective import Objective
from linclass.optim import OPTIMIZERS, solver
from linclass.penalties import get_penalty
from linclass.preprocess import Affine, fit_transform
from linclass.train import fit as train_loop
from linclass.train import minibatch_steps

_DTYPES = {"float32": np.float32, "float64": np.float64}
# optimizer="auto" solves the full-batch problem exactly (L-BFGS) for smooth objectives up to
# this many input elements N * D, and runs minibatch SGD otherwise, on data of that size ...
AUTO_MAX_ELEMENTS = 10**7
# ... with at least this many steps, so that small data sets get enough updates for the cosine
# schedule to settle near the optimum (larger data sets run ``epochs``).
AUTO_SGD_STEPS = 10_000


def resolve_optimizer(optimizer: str, objective: Objective, X: np.ndarray, incremental: bool = False) -> str:
    """The optimizer ``"auto"`` stands for on ``X (N, D)``: ``"lbfgs"`` or ``"sgd"`` (others unchanged).

    ``"lbfgs"`` (to convergence, at most ``max_iter`` iterations) when the objective is smooth —
    a smooth loss (softmax, squared hinge, squared error) with an L2 or no penalty — and
    ``N * D <= AUTO_MAX_ELEMENTS`` (and SciPy is installed); minibatch ``"sgd"`` otherwise
    (``fit`` on ``N * D <= AUTO_MAX_ELEMENTS`` gives it at least ``AUTO_SGD_STEPS`` steps, its
    cosine schedule decaying over all of them) and for ``partial_fit``. On a dask ``X`` (a
    cluster fit) every smooth objective gets ``"lbfgs"``, whatever its size — full-batch
    evaluations are what a cluster runs in parallel — and ``"sgd"`` (block passes) runs ``epochs``.
    """
    if optimizer != "auto":
        return optimizer
    small = is_dask_collection(X) or _small_in_memory(X)
    return "lbfgs" if objective.smooth and small and not incremental and _scipy_available() else "sgd"


def _small_in_memory(X) -> bool:
    """``X`` is in memory (not a dask collection) with ``N * D <= AUTO_MAX_ELEMENTS``."""
    return not is_dask_collection(X) and X.shape[0] * X.shape[1] <= AUTO_MAX_ELEMENTS


def _scipy_available() -> bool:
    """L-BFGS takes its line search from SciPy; without it ``"auto"`` means ``"sgd"``."""
    try:
        import scipy.optimize  # noqa: F401
    except ImportError:
        return False
    return True


def _init_names(cls: type) -> list[str]:
    """The hyperparameters of ``cls``: its ``__init__`` arguments, as scikit-learn reads them."""
    return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]


class LinearModelMixin:
    """Hyperparameter validation, preprocessing and training shared by the linear estimators."""

    # Hyperparameters of one estimator only (``LinearClassifierCV``'s grid and folds): entries
    # like the schema's that take precedence over it for this class.
    _own_hyperparameters: tuple[schema.Hyperparameter, ...] = ()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        own = {h.name: h for h in cls._own_hyperparameters}
        shared = [name for name in _init_names(cls) if name not in own]
        cls._parameter_constraints = {
            **schema.parameter_constraints(shared), **{name: [h.constraint] for name, h in own.items()}
        }

    def _check_hyperparameters(self) -> None:
        """Every hyperparameter against its entry in ``linclass.hyperparameters.SCHEMA`` (or the
        class's own entries)."""
        own = {h.name: h for h in self._own_hyperparameters}
        schema.validate(self, [name for name in _init_names(type(self)) if name not in own])
        for name, h in own.items():
            h.check(getattr(self, name))

    def _compute_dtype(self, X: np.ndarray) -> type:
        if self.dtype is not None:
            return _DTYPES[np.dtype(self.dtype).name]
        return np.float64 if str(X.dtype) in ("float64", "torch.float64") else np.float32

    def _kernels_for(self, X) -> Kernels:
        """The backend: ``backend`` as given, or PyTorch on ``device`` or on the device of a tensor ``X``.

        Tensors stay where they are: a tensor ``X`` with neither ``device`` nor ``backend`` set
        trains with PyTorch on the tensor's device.
        """
        if self.device is not None and self.backend not in (None, "torch"):
            raise ValueError(
                f"device={self.device!r} runs the PyTorch backend, but backend={self.backend!r}; "
                "pass backend=None (or 'torch') with a device"
            )
        device = self.device
        if device is None and is_tensor(X) and self.backend in (None, "torch"):
            device = X.device
        if device is None:
            return get_kernels(self.backend)
        return get_kernels("torch", device=device)

    def _on_backend(self, *arrays):
        """The fit's arrays where the objective's kernels train on them: on a GPU backend, moved
        there once (the kernels' ``place``); elsewhere as they are. None stays None."""
        place = getattr(self.objective_.kernels, "place", None)
        return tuple(array if array is None or place is None else place(array) for array in arrays)

    def _make_objective(
        self,
        X: np.ndarray,
        loss: LossSpec,
        class_weight: np.ndarray | None,
        n_train: int | None = None,
        cluster=None,
    ) -> Objective:
        """The objective; ``alpha=None`` is ``1 / (2 n_train)``, scikit-learn's ``C = 1``
        (``penalize_intercept`` is the classifier's alone).

        With ``cluster`` (DaskKernels) the preprocessing statistics come from the workers.
        """
        kernels = self._kernels_for(X) if cluster is None else cluster
        if cluster is not None:
            from linclass.estimator._cluster import statistics

            X = statistics(X, cluster)
        # kernels that compute the statistics faster offer them
        source = kernels.statistics(X) if cluster is None and hasattr(kernels, "statistics") else X
        transform: Affine = fit_transform(self.preprocess, source)
        n_train = X.shape[0] if n_train is None else n_train
        return Objective(
            loss=loss,
            penalty=get_penalty(self.penalty),
            alpha=1.0 / (2.0 * n_train) if self.alpha is None else float(self.alpha),
            l1_ratio=float(self.l1_ratio),
            class_weight=class_weight,
            transform=transform,
            kernels=kernels,
            penalize_intercept=bool(getattr(self, "penalize_intercept", False)),
        )

    def _run_loop(self, objective, params, X, y, X_val, y_val, rng, resume=None, epochs=None, **options):
        """``linclass.train.fit`` with the estimator's settings; records ``optimizer_``.

        Iteration-based optimizers (``lbfgs``) run at most ``max_iter`` iterations and warn
        with ``ConvergenceWarning`` when they stop unconverged.
        """
        rows = options.get("rows")
        n_train = X.shape[0] if rows is None else len(rows)
        batch = min(int(self.batch_size), n_train)
        name = resolve_optimizer(self.optimizer, objective, X, incremental=epochs is not None)
        if objective.penalize_intercept and name != "lbfgs":
            raise ValueError(
                f"penalize_intercept=True needs the full-batch optimizer='lbfgs' (or 'auto' choosing it); "
                f"optimizer={self.optimizer!r} runs {name!r}"
            )
        spec = OPTIMIZERS.resolve(name)
        steps_per_epoch = minibatch_steps(X, n_train, batch) if spec.data == "minibatch" else 1
        decay = int(self.epochs)
        if epochs is None:
            epochs = self.max_iter if name == "lbfgs" else self.epochs
            if self.optimizer == "auto" and name == "sgd" and _small_in_memory(X):
                epochs = decay = max(int(self.epochs), math.ceil(AUTO_SGD_STEPS / steps_per_epoch))
        epochs = int(epochs)
        # The schedule steers a learning rate (as scikit-learn's solver-specific options, the
        # optimizers without one ignore it); named schedules count epochs, cosine decays over the run.
        schedule = self.schedule if spec.scheduled else "constant"
        built = spec.build(
            learning_rate=float(self.learning_rate),
            schedule=schedule,
            schedule_options={"decay_steps": decay} if schedule == "cosine" else None,
            steps_per_epoch=steps_per_epoch,
            momentum=float(self.momentum),
            max_iter=epochs,
            tol=float(self.tol),
        )
        result = train_loop(
            objective,
            params,
            X,
            y,
            optimizer=built,
            epochs=epochs,
            batch_size=batch,
            X_val=X_val,
            y_val=y_val,
            early_stopping=bool(self.early_stopping) and X_val is not None,
            n_iter_no_change=int(self.n_iter_no_change),
            tol=float(self.tol),
            verbose=bool(self.verbose),
            random_state=rng,
            resume=resume,
            **options,
        )
        self.optimizer_ = name
        run = result.state.opt_state
        if solver.converged(run) is False and (run.lbfgs.done or result.state.epoch >= epochs):
            why = "its line search found no decrease" if run.lbfgs.done else f"max_iter={epochs} was reached"
            warnings.warn(
                f"{type(self).__name__}(optimizer={name!r}) did not converge: {why} before the largest "
                f"gradient component ({run.lbfgs.grad_max:.3g}) fell to tol={self.tol!r}; increase max_iter "
                "or tol",
                ConvergenceWarning,
                stacklevel=3,
            )
        return result

    def _raw_params(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)`` acting on raw inputs: ``W (D, K)``, ``b (K,)``."""
        check_is_fitted(self)
        return self.objective_.effective_params(self.params_)

    def _validated_input(self, X) -> np.ndarray:
        check_is_fitted(self)
        check_feature_names(self, X, reset=False)
        return validate_X(X, n_features=self.n_features_in_, estimator_name=type(self).__name__)

    def _raw_output(self, X) -> np.ndarray:
        X = self._validated_input(X)
        if is_dask_collection(X):
            from linclass.estimator._cluster import lazy_model_scores

            return lazy_model_scores(X, self.objective_, self.params_)
        if is_tensor(X) and not hasattr(self.objective_.kernels, "place"):
            X = to_host(X)  # a model loaded without its device predicts tensors on the host
        return self.objective_.scores(self.params_, X)

    def save(self, path) -> None:
        """Write the fitted model to ``path`` (a linclass model file; see ``linclass.load``)."""
        from linclass.estimator.persist import save

        save(self, path)
