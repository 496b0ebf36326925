"""Fuzzing read_bundle: whatever the bytes, only ModelFileError escapes, and a file that loads
holds exactly what was written.

The number of examples per test is ``LINCLASS_FUZZ_EXAMPLES`` (default 200).
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy_format

from linclass.io import ModelFileError, read_bundle, write_bundle

FUZZ = settings(
    max_examples=int(os.environ.get("LINCLASS_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ARRAYS = {
    "W": np.arange(12, dtype=np.float32).reshape(4, 3),
    "b": np.array([0.5, -1.0, 2.0]),
    "mean": np.arange(4, dtype=np.uint8),
}
METADATA = {"classes": ["cat", "car", 7], "image_shape": [2, 2], "history": {"loss": [2.3, 1.0]}}


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def valid_bytes(work_dir) -> bytes:
    path = work_dir / "valid.npz"
    write_bundle(path, ARRAYS, METADATA, kind="model")
    return path.read_bytes()


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _check_read(path, data: bytes) -> None:
    """Only ModelFileError may escape; if the file loads, it is the original content."""
    path.write_bytes(data)
    try:
        arrays, metadata = read_bundle(path, kind="model")
    except ModelFileError as exc:
        assert str(exc).startswith(str(path))
        assert "\n" not in str(exc)
        return
    assert metadata == METADATA
    assert sorted(arrays) == sorted(ARRAYS)
    for name, array in ARRAYS.items():
        assert arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(arrays[name], array)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_raise_only_model_file_error(work_dir, data):
    _check_read(work_dir / "bytes.npz", data)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_bytes_after_a_zip_signature_raise_only_model_file_error(work_dir, data):
    _check_read(work_dir / "zip_prefix.npz", b"PK\x03\x04" + data)


@FUZZ
@given(
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_byte_edits_and_truncations_of_a_valid_file(work_dir, valid_bytes, edits, cut):
    data = bytearray(valid_bytes)
    for where, value in edits:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    _check_read(work_dir / "edited.npz", bytes(data))


@FUZZ
@given(
    where=st.floats(0, 1),
    inserted=st.binary(min_size=1, max_size=64),
    deleted=st.integers(0, 64),
)
def test_insertions_and_deletions_in_a_valid_file(work_dir, valid_bytes, where, inserted, deleted):
    at = int(where * len(valid_bytes))
    data = valid_bytes[:at] + inserted + valid_bytes[at + deleted :]
    _check_read(work_dir / "spliced.npz", data)


@FUZZ
@given(
    member=st.sampled_from(["__metadata__.npy", "W.npy", "b.npy", "mean.npy"]),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_edited_entries_rezipped_with_valid_crcs(work_dir, valid_bytes, member, edits, cut):
    entries = _entries(valid_bytes)
    content = bytearray(entries[member])
    for where, value in edits:
        content[int(where * len(content))] = value
    if cut is not None:
        content = content[: int(cut * len(content))]
    entries[member] = bytes(content)
    _check_read(work_dir / "rezipped.npz", _zip(entries))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
DOCUMENT_KEYS = ["format", "kind", "format_version", "linclass_version", "metadata", "checksum"]


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from([*DOCUMENT_KEYS, "x"]),
        JSON_VALUES,
        max_size=3,
    ),
    dropped=st.sets(st.sampled_from(DOCUMENT_KEYS), max_size=2),
)
def test_arbitrary_metadata_documents(work_dir, valid_bytes, changes, dropped):
    entries = _entries(valid_bytes)
    with zipfile.ZipFile(io.BytesIO(valid_bytes)) as archive, archive.open("__metadata__.npy") as stream:
        document = json.loads(npy_format.read_array(stream).tobytes())
    document.update(changes)
    for key in dropped:
        document.pop(key, None)
    buffer = io.BytesIO()
    npy_format.write_array(buffer, np.frombuffer(json.dumps(document).encode(), dtype=np.uint8))
    entries["__metadata__.npy"] = buffer.getvalue()
    _check_read(work_dir / "document.npz", _zip(entries))
