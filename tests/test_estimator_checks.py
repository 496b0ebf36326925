"""scikit-learn's estimator contract, checked by scikit-learn itself for every loss.

One check does not apply and is left out on purpose: ``check_array_api_input`` feeds CuPy /
PyTorch / array-api-strict arrays; linclass computes with NumPy (GPU input belongs to the later
backends layer), so it converts such input with ``numpy.asarray`` like most scikit-learn
estimators that do not declare array-API support.
"""

import functools

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

from linclass import LinearClassifier, LinearClassifierCV, LinearRegressor  # noqa: E402
from linclass.losses import loss_names  # noqa: E402

NOT_APPLICABLE = {"check_array_api_input"}

ESTIMATORS = [LinearClassifier(loss=name, random_state=0) for name in loss_names("classification")] + [
    LinearRegressor(random_state=0),
    LinearClassifierCV(Cs=3, cv=3),
]


def _check_name(check) -> str:
    return check.func.__name__ if isinstance(check, functools.partial) else check.__name__


CASES = [
    pytest.param(estimator, check, id=f"{estimator!r}-{_check_name(check)}")
    for estimator in ESTIMATORS
    for estimator, check in estimator_checks_generator(estimator, mark=None)
    if _check_name(check) not in NOT_APPLICABLE
]


def test_every_loss_is_checked():
    checked = {case.values[0].loss for case in CASES if isinstance(case.values[0], LinearClassifier)}
    assert checked == set(loss_names("classification"))
    assert len(CASES) > 300


@pytest.mark.parametrize("estimator, check", CASES)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
