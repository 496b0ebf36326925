"""Fuzzing the model-file and checkpoint schemas: validly signed files whose metadata fields
(or arrays) hold arbitrary JSON values load or raise ``ModelFileError``, nothing else.

The number of examples per test is ``LINCLASS_FUZZ_EXAMPLES`` (default 200).
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import linclass
from linclass.app.config import TrainConfig
from linclass.app.experiment import CHECKPOINT_FORMAT, load_checkpoint
from linclass.io import ModelFileError, read_bundle, write_bundle
from test_file_schema import _state
from test_fuzz_model_file import FUZZ

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, 1, -1, 2**63, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.sampled_from(["nan", "inf", "array", "PCG64", "float64", "|u1", "object"]),
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)
ARRAYS = st.one_of(
    st.builds(np.zeros, st.tuples(st.integers(0, 5))),
    st.builds(np.zeros, st.tuples(st.integers(0, 5), st.integers(0, 5))),
    st.just(np.array([np.nan, 1.0])),
    st.just(np.arange(10)),
    st.just(np.zeros(3, dtype=np.int8)),
)


@pytest.fixture(scope="module")
def model_bundle(tmp_path_factory):
    rng = np.random.default_rng(0)
    model = linclass.LinearClassifier(epochs=1, random_state=0).fit(rng.standard_normal((12, 4)), [0, 1, 2] * 4)
    model.image_shape_, model.class_names_ = (2, 2), ("a", "b", "c")
    path = tmp_path_factory.mktemp("m") / "m.npz"
    model.save(path)
    return read_bundle(path, kind="model")


def _paths(meta: dict) -> list[tuple]:
    """Every (key, ...) path to a value inside the metadata tree."""
    found = []
    for key, value in meta.items():
        found.append((key,))
        if isinstance(value, dict):
            found += [(key, *rest) for rest in _paths(value)]
    return found


def _edit(meta: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        meta = meta[key]
    meta[path[-1]] = value


def _write_and_load(arrays, meta, kind, load):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.npz"
        write_bundle(path, arrays, meta, kind=kind)
        try:
            return load(path)
        except ModelFileError:
            return None


@FUZZ
@given(st.data(), JSON, st.one_of(st.none(), ARRAYS))
def test_model_fields_with_arbitrary_values_raise_only_model_file_errors(model_bundle, data, value, array):
    arrays, meta = copy.deepcopy(model_bundle)
    _edit(meta, data.draw(st.sampled_from(_paths(meta))), value)
    if array is not None:
        arrays[data.draw(st.sampled_from(sorted(arrays)))] = array
    model = _write_and_load(arrays, meta, "model", linclass.load)
    assert model is None or model.predict(np.zeros((1, model.n_features_in_))).shape == (1,)


@FUZZ
@given(st.data(), JSON, st.one_of(st.none(), ARRAYS))
def test_checkpoint_fields_with_arbitrary_values_raise_only_model_file_errors(data, value, array):
    arrays, state = _state().to_bundle()
    meta = {"format": CHECKPOINT_FORMAT, "config": TrainConfig().to_dict(), "state": state}
    _edit(meta, data.draw(st.sampled_from(_paths(meta))), value)
    if array is not None:
        arrays[data.draw(st.sampled_from(sorted(arrays)))] = array
    loaded = _write_and_load(arrays, meta, "checkpoint", load_checkpoint)
    assert loaded is None or loaded[1].n_samples >= 1
