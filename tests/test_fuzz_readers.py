"""Fuzzing the binary readers: arbitrary bytes and mutated valid files raise only DataFormatError.

The example count per test comes from ``LINCLASS_FUZZ_EXAMPLES`` (default 200), so a long run
is ``LINCLASS_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz_readers.py``.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from linclass.datasets import DataFormatError, load_cifar10
from linclass.datasets.cifar import parse_binary_batch, parse_python_batch, parse_python_meta
from linclass.datasets.idx import parse_idx
from test_datasets_support import cifar_binary_batch, cifar_python_batch, cifar_python_meta, idx_bytes

FUZZ = settings(
    max_examples=int(os.environ.get("LINCLASS_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated(draw, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid file with a few bytes overwritten, then maybe cut short or extended."""
    content = bytearray(draw(valid))
    for _ in range(draw(st.integers(0, 4))):
        if content:
            content[draw(st.integers(0, len(content) - 1))] = draw(st.integers(0, 255))
    action = draw(st.sampled_from(["keep", "truncate", "extend"]))
    if action == "truncate":
        content = content[: draw(st.integers(0, len(content)))]
    elif action == "extend":
        content += draw(st.binary(min_size=1, max_size=16))
    return bytes(content)


@st.composite
def idx_files(draw) -> bytes:
    dtype = draw(st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"]))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=3)))
    values = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    return idx_bytes(values, compress=draw(st.booleans()))


@st.composite
def cifar_batches(draw) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def python_batches() -> st.SearchStrategy[bytes]:
    return st.builds(lambda batch, style: cifar_python_batch(*batch, style=style),
                     cifar_batches(), st.sampled_from(["py2", "numpy2", "list"]))  # fmt: skip


def only_format_errors(read, content: bytes) -> object:
    try:
        return read(content)
    except DataFormatError:
        return None


@FUZZ
@given(st.one_of(st.binary(max_size=2048), mutated(idx_files())))
@example(content=b"\x00\x00\x08\x03\xa9\x00\x00\x00\xc2\x00\x00\x00\x00\x00\x00\x00")  # empty, unindexable
def test_idx_reader_raises_only_format_errors(content):
    values = only_format_errors(lambda c: parse_idx(c, "fuzz.idx"), content)
    assert values is None or (isinstance(values, np.ndarray) and values.dtype.isnative)


@FUZZ
@given(
    st.one_of(st.binary(max_size=8000), mutated(st.builds(lambda b: cifar_binary_batch(*b), cifar_batches())))
)
def test_cifar_binary_reader_raises_only_format_errors(content):
    result = only_format_errors(lambda c: parse_binary_batch(c, "fuzz.bin"), content)
    assert result is None or (result[0].shape[1:] == (32, 32, 3) and result[1].max(initial=0) <= 9)


@FUZZ
@given(st.one_of(st.binary(max_size=2048), mutated(python_batches())))
def test_cifar_pickle_reader_raises_only_format_errors(content):
    result = only_format_errors(lambda c: parse_python_batch(c, "fuzz_batch"), content)
    assert result is None or (result[0].dtype == np.uint8 and result[0].shape[1:] == (32, 32, 3))


@FUZZ
@given(st.one_of(st.binary(max_size=512), mutated(st.just(cifar_python_meta()))))
def test_cifar_meta_reader_raises_only_format_errors(content):
    names = only_format_errors(lambda c: parse_python_meta(c, "fuzz_meta"), content)
    assert names is None or all(isinstance(n, str) for n in names)


def _tar(batch: tuple[np.ndarray, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("data_batch_1", "test_batch"):
            content = cifar_python_batch(*batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@FUZZ
@given(mutated(st.builds(_tar, cifar_batches())))
def test_cifar_archive_reader_raises_only_format_errors(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cifar.tar"
        path.write_bytes(content)
        ds = only_format_errors(load_cifar10, path)
        assert sorted(p.name for p in Path(folder).iterdir()) == ["cifar.tar"]
    assert ds is None or ds.X_train.dtype == np.uint8
