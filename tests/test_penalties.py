"""Penalties: values, gradients (checked numerically), float32 kept, registry."""

import numpy as np
import pytest

from linclass import penalties
from linclass.gradcheck import check_gradient
from linclass.penalties import PENALTIES, Penalty, elastic_net, elasticnet_mix, get_penalty, l1, l2

W = np.array([[1.0, -2.0, 0.0], [0.5, 3.0, -0.25]])


def test_l2_is_sum_of_squares_with_gradient_2w():
    value, grad = l2(W)
    assert float(value) == pytest.approx(1 + 4 + 0.25 + 9 + 0.0625)
    np.testing.assert_array_equal(grad, 2 * W)


def test_l1_is_sum_of_absolute_values_with_subgradient_0_at_0():
    value, grad = l1(W)
    assert float(value) == pytest.approx(1 + 2 + 0.5 + 3 + 0.25)
    np.testing.assert_array_equal(grad, [[1.0, -1.0, 0.0], [1.0, 1.0, -1.0]])


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 3.0])
def test_lecture_elastic_net_is_beta_l2_plus_l1(beta):
    value, grad = elastic_net(W, beta=beta)
    assert float(value) == pytest.approx(beta * float(l2(W)[0]) + float(l1(W)[0]))
    np.testing.assert_allclose(grad, beta * l2(W)[1] + l1(W)[1])


@pytest.mark.parametrize("l1_ratio", [0.0, 0.3, 1.0])
def test_elasticnet_mix_interpolates_l2_and_l1(l1_ratio):
    value, grad = elasticnet_mix(W, l1_ratio)
    assert float(value) == pytest.approx(l1_ratio * float(l1(W)[0]) + (1 - l1_ratio) * float(l2(W)[0]))
    np.testing.assert_allclose(grad, l1_ratio * l1(W)[1] + (1 - l1_ratio) * l2(W)[1])


def test_mixing_and_lecture_elastic_net_are_one_penalty():
    # alpha * mix(W, l1_ratio) == (alpha * l1_ratio) * elastic_net(W, beta=(1 - l1_ratio) / l1_ratio)
    value, grad = elasticnet_mix(W, 0.25)
    lecture_value, lecture_grad = elastic_net(W, beta=3.0)
    assert float(value) == pytest.approx(0.25 * float(lecture_value))
    np.testing.assert_allclose(grad, 0.25 * lecture_grad)


def test_registry_maps_names_to_penalty_specs():
    assert PENALTIES.names() == ["elasticnet", "l1", "l2", "none"]
    for name, reference in [("l2", l2(W)), ("l1", l1(W)), ("elasticnet", elasticnet_mix(W, 0.4))]:
        value, grad = PENALTIES.resolve(name).fn(W, 0.4)
        assert float(value) == float(reference[0])
        np.testing.assert_array_equal(grad, reference[1])
    assert {name: spec.smooth for name, spec in PENALTIES.items()} == {
        "elasticnet": False,
        "l1": False,
        "l2": True,
        "none": True,
    }
    assert PENALTIES.resolve("none").fn is None
    assert get_penalty(None) is get_penalty("none") is PENALTIES.resolve("none")
    assert get_penalty(PENALTIES.resolve("l1")) is PENALTIES.resolve("l1")
    assert isinstance(get_penalty("l2"), Penalty)
    with pytest.raises(
        ValueError, match=r"penalty='l3' is not supported; expected one of \['elasticnet', 'l1'"
    ):
        PENALTIES.resolve("l3")


PENALTY_FUNCTIONS = [
    ("l2", l2),
    ("l1", l1),
    ("elastic_net", lambda w: elastic_net(w, beta=0.7)),
    *[
        (f"registry-{name}", lambda w, name=name: PENALTIES.resolve(name).fn(w, 0.35))
        for name in PENALTIES.names()
        if PENALTIES.resolve(name).fn is not None
    ],
]


@pytest.mark.parametrize(("name", "penalty"), PENALTY_FUNCTIONS)
def test_gradient_check(name, penalty):
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(4, 3))
    weights[np.abs(weights) < 1e-3] = 0.5
    report = check_gradient(lambda w: (float(penalty(w)[0]), penalty(w)[1]), weights)
    assert report.passed, f"{name}: {report}"


@pytest.mark.parametrize(("name", "penalty"), PENALTY_FUNCTIONS)
def test_float32_stays_float32(name, penalty):
    value, grad = penalty(W.astype(np.float32))
    assert np.asarray(value).dtype == np.float32, name
    assert grad.dtype == np.float32, name
    assert grad.shape == W.shape


def test_integer_weights_are_treated_as_float64():
    value, grad = l2(np.array([[1, -2]]))
    assert float(value) == 5.0 and grad.dtype == np.float64


def test_bad_arguments():
    with pytest.raises(TypeError, match="W must be a real numeric array, got dtype <U1"):
        penalties.l2([["a"]])
    with pytest.raises(ValueError, match=r"l1_ratio must be in \[0, 1\], got 1.5"):
        PENALTIES.resolve("elasticnet").fn(W, 1.5)
    with pytest.raises(ValueError, match="beta must be a finite number >= 0, got -1.0"):
        elastic_net(W, beta=-1.0)
