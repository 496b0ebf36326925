"""Gradient checks that return reports: of any function (:mod:`.numerical`) and of the training
objective over ``W`` and ``b`` (:mod:`.objective`)."""

from linclass.gradcheck.numerical import (
    GradientCheckReport,
    check_gradient,
    check_gradient_sparse,
    numerical_gradient,
)
from linclass.gradcheck.objective import (
    FINITE_DIFFERENCE_NOISE,
    KINK_THRESHOLD,
    SMOOTH_THRESHOLD,
    ObjectiveCheck,
    check_objective_gradient,
    data_problem,
    default_threshold,
    random_params,
    random_problem,
)

__all__ = [
    "FINITE_DIFFERENCE_NOISE",
    "KINK_THRESHOLD",
    "SMOOTH_THRESHOLD",
    "GradientCheckReport",
    "ObjectiveCheck",
    "check_gradient",
    "check_gradient_sparse",
    "check_objective_gradient",
    "data_problem",
    "default_threshold",
    "numerical_gradient",
    "random_params",
    "random_problem",
]
