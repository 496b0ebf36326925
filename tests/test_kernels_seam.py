"""The kernels seam: a backend written from docs/architecture.md plugs into the objective and the estimator."""

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pytest

from linclass import LinearClassifier
from linclass.kernels import ChunkSums, Kernels, NumpyKernels
from linclass.objective import Objective
from linclass.preprocess import fit_transform


@dataclass(frozen=True)
class ChunkedKernels:
    """The example backend of docs/architecture.md: chunk sums added in a fixed order."""

    name: ClassVar[str] = "chunked"
    rows: int = 100
    inner: NumpyKernels = field(default_factory=NumpyKernels)

    def linear_loss(self, X, y, W, b, *, loss, class_weight=None, transform=None, with_grad=True):
        loss_sum, grads, n, n_correct = 0.0, None, 0, 0
        for start in range(0, X.shape[0], self.rows):
            part = self.inner.linear_loss(
                X[start : start + self.rows], y[start : start + self.rows], W, b,
                loss=loss, class_weight=class_weight, transform=transform, with_grad=with_grad,
            )
            loss_sum += part.loss_sum
            n += part.n
            n_correct += part.n_correct
            if with_grad:
                grads = part.grad_sums if grads is None else tuple(g + h for g, h in zip(grads, part.grad_sums, strict=True))
        return ChunkSums(loss_sum, grads, n, n_correct)

    def linear_scores(self, X, W, b, *, transform=None):
        return self.inner.linear_scores(X, W, b, transform=transform)

    def penalty(self, penalty, W, l1_ratio):
        return penalty.fn(W, l1_ratio)


def problem(n=103, n_features=6, n_classes=3):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(n, n_features), dtype=np.uint8)
    y = rng.integers(0, n_classes, n)
    params = (rng.normal(scale=0.01, size=(n_features, n_classes)), rng.normal(size=n_classes))
    return X, y, params


def test_the_example_backend_implements_the_protocol():
    assert isinstance(ChunkedKernels(), Kernels)


@pytest.mark.parametrize("loss", ["softmax", "svm", "crammer_singer"])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet", None])
def test_chunk_sums_give_the_objective_of_one_chunk(loss, penalty):
    X, y, params = problem()
    common = dict(loss=loss, penalty=penalty, alpha=0.05, class_weight=np.array([0.5, 1.0, 2.0]),
                  transform=fit_transform("standardize", X))
    whole = Objective(**common, kernels=NumpyKernels()).batch(params, X, y)
    chunked = Objective(**common, kernels=ChunkedKernels(rows=10)).batch(params, X, y)
    assert chunked.n_correct == whole.n_correct
    assert chunked.value == pytest.approx(whole.value, rel=1e-12)
    for a, b in zip(chunked.grads, whole.grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_the_estimator_trains_on_a_backend_object():
    X, y, _ = problem(n=300)
    reference = LinearClassifier(backend="numpy", dtype="float64", epochs=2, random_state=0).fit(X, y)
    chunked = LinearClassifier(backend=ChunkedKernels(rows=17), dtype="float64", epochs=2, random_state=0).fit(X, y)
    assert chunked.objective_.kernels == ChunkedKernels(rows=17)
    np.testing.assert_allclose(chunked.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
