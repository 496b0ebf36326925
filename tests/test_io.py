"""linclass.io: round trips, atomic writes and refusal of every kind of bad file."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from linclass import io as lio
from linclass.atomic import atomic_write_bytes, atomic_write_text, atomic_writer
from linclass.io import ModelFileError, read_bundle, write_bundle


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "W": rng.standard_normal((12, 3)).astype(np.float32),
        "b": rng.standard_normal(3),
        "mask": rng.random(5) > 0.5,
        "counts": rng.integers(-5, 5, size=(2, 2), dtype=np.int8),
        "pixels": rng.integers(0, 255, size=(2, 4, 4, 3), dtype=np.uint8),
        "z": (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(np.complex64),
        "step": np.int64(7),
        "fortran": np.asfortranarray(rng.standard_normal((3, 4))),
        "big_endian": rng.standard_normal(4).astype(">f8"),
    }


CHECKSUM = "checksum mismatch: the file is corrupt or was edited"
METADATA = {
    "classes": ["cat", "car", "frog"],
    "hyperparameters": {"loss": "softmax", "alpha": 1e-4, "learning_rate": 0.5, "batch_size": 256},
    "image_shape": [2, 2, 3],
    "preprocessing": {"scale": 1 / 255, "mean_image": True},
    "history": {"loss": [2.3, 1.1, float("nan")], "val_accuracy": [0.1, 0.5, 0.625]},
    "note": "ünïcödé ✓",
    "empty": None,
}


def _model(tmp_path: Path, name: str = "model.npz") -> Path:
    path = tmp_path / name
    write_bundle(path, _arrays(), METADATA, kind="model")
    return path


def _document(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive, archive.open("__metadata__.npy") as stream:
        return json.loads(npy_format.read_array(stream).tobytes())


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    npy_format.write_array(buffer, array)
    return buffer.getvalue()


def _rezip(path: Path, replace: dict[str, bytes]) -> None:
    """Rewrite the archive with some entries replaced (valid zip CRCs, as an editing tool would)."""
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    entries.update(replace)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for filename, data in entries.items():
            archive.writestr(filename, data)


def _rewrite_document(path: Path, **changes) -> None:
    document = {**_document(path), **changes}
    text = json.dumps(document).encode()
    _rezip(path, {"__metadata__.npy": _npy_bytes(np.frombuffer(text, dtype=np.uint8))})


def _name(path: Path) -> str:
    """The file name as it starts an error message, escaped for ``match``."""
    return re.escape(str(path))


def _temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- round trips


def test_round_trip_preserves_arrays_dtypes_shapes_and_metadata(tmp_path):
    path = _model(tmp_path)
    arrays, metadata = read_bundle(path, kind="model")
    expected = _arrays()
    assert sorted(arrays) == sorted(expected)
    for name, array in expected.items():
        assert arrays[name].dtype == array.dtype, name
        assert arrays[name].shape == array.shape, name
        np.testing.assert_array_equal(arrays[name], array)
    assert metadata["classes"] == ["cat", "car", "frog"]
    assert metadata["hyperparameters"] == METADATA["hyperparameters"]
    assert metadata["note"] == "ünïcödé ✓"
    assert metadata["empty"] is None
    np.testing.assert_array_equal(metadata["history"]["loss"], [2.3, 1.1, np.nan])


def test_reading_holds_the_arrays_once_not_the_file_and_the_arrays(tmp_path):
    path = tmp_path / "features.npz"
    X = np.random.default_rng(0).standard_normal((1000, 4000)).astype(np.float32)  # 16 MB
    write_bundle(path, {"X": X}, {}, kind="features")
    tracemalloc.start()
    try:
        arrays, _ = read_bundle(path, kind="features")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(arrays["X"], X)
    assert arrays["X"].flags.writeable and arrays["X"].flags.c_contiguous
    assert X.nbytes <= peak < 1.2 * X.nbytes


def test_integer_classes_stay_integers_and_numpy_scalars_become_python_numbers(tmp_path):
    path = tmp_path / "digits.npz"
    metadata = {"classes": [0, 1, 9], "mixed": ["a", 2, 2.5, True], "shape": (8, 8),
                "alpha": np.float32(0.25), "epochs": np.int64(3), "flag": np.bool_(True)}
    write_bundle(path, {"W": np.zeros((64, 3))}, metadata, kind="model")
    _, loaded = read_bundle(path, kind="model")
    assert loaded == {"classes": [0, 1, 9], "mixed": ["a", 2, 2.5, True], "shape": [8, 8],
                      "alpha": 0.25, "epochs": 3, "flag": True}
    assert [type(c) for c in loaded["classes"]] == [int, int, int]
    assert [type(v) for v in loaded["mixed"]] == [str, int, float, bool]


def test_same_content_gives_identical_bytes(tmp_path):
    first, second = _model(tmp_path, "a.npz"), _model(tmp_path, "b.npz")
    assert first.read_bytes() == second.read_bytes()


def test_file_is_a_plain_uncompressed_npz_with_a_json_metadata_entry(tmp_path):
    path = _model(tmp_path)
    with zipfile.ZipFile(path) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["W"], _arrays()["W"])
    document = _document(path)
    assert document["format"] == "linclass"
    assert document["kind"] == "model"
    assert document["format_version"] == 1
    assert document["linclass_version"] == __import__("linclass").__version__
    assert document["checksum"].startswith("sha256:") and len(document["checksum"]) == 7 + 64


def test_new_file_gets_the_usual_permissions(tmp_path):
    old_umask = os.umask(0o022)
    try:
        path = _model(tmp_path)
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------- refused writes


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"labels": np.array(["a", None], dtype=object)}, r"arrays\['labels'\] has dtype object"),
        ({"names": np.array(["cat", "dog"])}, r"arrays\['names'\] has dtype <U3"),
        ({"rec": np.zeros(2, dtype=[("a", "f4")])}, r"arrays\['rec'\] has dtype"),
    ],
)
def test_non_numeric_arrays_are_refused_naming_the_key(tmp_path, arrays, message):
    with pytest.raises(TypeError, match=message):
        write_bundle(tmp_path / "m.npz", arrays, {}, kind="model")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["__metadata__", "", "a/b", "../x", ".hidden", 3])
def test_bad_array_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="array name .* is not allowed"):
        write_bundle(tmp_path / "m.npz", {name: np.zeros(2)}, {}, kind="model")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"classes": {"a", "b"}}, r"metadata\['classes'\] has type set"),
        ({"h": {"x": [1, object()]}}, r"metadata\['h'\]\['x'\]\[1\] has type object"),
        ({"m": {1: "a"}}, r"metadata\['m'\] has key 1 of type int; keys must be str"),
        ({"W": np.zeros(3)}, r"metadata\['W'\] has type ndarray"),
        ([1, 2], "metadata must be a mapping"),
    ],
)
def test_metadata_json_cannot_hold_is_refused_naming_the_key(tmp_path, metadata, message):
    with pytest.raises(TypeError, match=message):
        write_bundle(tmp_path / "m.npz", {}, metadata, kind="model")


def test_unknown_kind_is_refused(tmp_path):
    expected = r"kind='weights' is not supported; expected one of \['checkpoint', 'features', 'model'\]"
    with pytest.raises(ValueError, match=expected):
        write_bundle(tmp_path / "m.npz", {}, {}, kind="weights")
    with pytest.raises(ValueError, match="kind='weights' is not supported"):
        read_bundle(tmp_path / "m.npz", kind="weights")


# --------------------------------------------------------------------------- atomicity


def test_failed_write_from_bad_metadata_leaves_previous_file_untouched(tmp_path):
    path = _model(tmp_path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_bundle(path, {"W": np.ones(3)}, {"bad": {1, 2}}, kind="model")
    assert path.read_bytes() == before
    assert _temp_files(tmp_path) == []


def test_failed_rename_leaves_previous_file_untouched_and_no_temp_file(tmp_path, monkeypatch):
    path = _model(tmp_path)
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lio.os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left on device"):
        write_bundle(path, {"W": np.ones(3)}, {}, kind="model")
    assert path.read_bytes() == before
    assert _temp_files(tmp_path) == []


def test_failure_half_way_through_the_archive_leaves_previous_file_untouched(tmp_path, monkeypatch):
    path = _model(tmp_path)
    before = path.read_bytes()
    real_write_array = npy_format.write_array
    calls = []

    def write_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_write_array(*args, **kwargs)

    monkeypatch.setattr(lio.npy_format, "write_array", write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        write_bundle(path, _arrays(seed=1), METADATA, kind="model")
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert _temp_files(tmp_path) == []


def test_atomic_write_helpers_write_bytes_and_text(tmp_path):
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "b.json", '{"é": 1}')
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.json").read_bytes() == '{"é": 1}'.encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.json"]


def test_atomic_writer_discards_the_temp_file_when_the_block_raises(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_writer(target, "w") as handle:
        handle.write("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert _temp_files(tmp_path) == []
    with pytest.raises(ValueError, match=r"mode='a' is not supported; expected one of \['w', 'wb'\]"):
        with atomic_writer(target, "a"):
            pass


# --------------------------------------------------------------------------- refused files


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_bundle(tmp_path / "nope.npz", kind="model")


def test_truncated_file_is_refused_at_every_cut(tmp_path):
    data = _model(tmp_path).read_bytes()
    cut_path = tmp_path / "cut.npz"
    for cut in [0, 3, 4, 40, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 22, len(data) - 1]:
        cut_path.write_bytes(data[:cut])
        expected = "the zip archive is truncated or damaged" if cut >= 4 else "not a zip archive"
        message = f"^{_name(cut_path)} is not a linclass model file: {expected}$"
        with pytest.raises(ModelFileError, match=message):
            read_bundle(cut_path, kind="model")


def test_one_flipped_byte_in_array_data_is_a_checksum_mismatch(tmp_path):
    path = _model(tmp_path)
    data = bytearray(path.read_bytes())
    offset = bytes(data).find(_arrays()["W"].tobytes())
    assert offset > 0
    data[offset + 17] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=f"^{_name(path)}: {CHECKSUM}"):
        read_bundle(path, kind="model")


def test_array_replaced_with_a_valid_zip_entry_is_a_checksum_mismatch(tmp_path):
    path = _model(tmp_path)
    _rezip(path, {"b.npy": _npy_bytes(np.array([1.0, 2.0, 3.0]))})
    with pytest.raises(ModelFileError, match=f"^{_name(path)}: {CHECKSUM}$"):
        read_bundle(path, kind="model")


@pytest.mark.parametrize(
    "changes",
    [{"metadata": {**METADATA, "classes": ["dog", "car", "frog"]}}, {"linclass_version": "9.9"}],
)
def test_edited_metadata_is_a_checksum_mismatch(tmp_path, changes):
    path = _model(tmp_path)
    _rewrite_document(path, **changes)
    with pytest.raises(ModelFileError, match=f"^{_name(path)}: {CHECKSUM}$"):
        read_bundle(path, kind="model")


def test_added_array_is_a_checksum_mismatch(tmp_path):
    path = _model(tmp_path)
    _rezip(path, {"extra.npy": _npy_bytes(np.zeros(2))})
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        read_bundle(path, kind="model")


def test_newer_format_version_asks_to_upgrade(tmp_path):
    path = _model(tmp_path)
    _rewrite_document(path, format_version=2)
    message = (
        f"^{_name(path)} was written by a newer linclass \\(format version 2\\); "
        "this linclass reads up to version 1 — upgrade linclass$"
    )
    with pytest.raises(ModelFileError, match=message):
        read_bundle(path, kind="model")


def test_checkpoint_offered_as_model_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    write_bundle(path, {"W": np.zeros((2, 2))}, {"epoch": 3}, kind="checkpoint")
    message = f"^{_name(path)} is a linclass checkpoint file, not a model file$"
    with pytest.raises(ModelFileError, match=message):
        read_bundle(path, kind="model")
    arrays, metadata = read_bundle(path, kind="checkpoint")
    assert metadata == {"epoch": 3}
    np.testing.assert_array_equal(arrays["W"], np.zeros((2, 2)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "other"}, "its __metadata__ does not say format 'linclass'"),
        ({"format_version": "1"}, "format_version '1' is not a positive integer"),
        ({"kind": "weights"}, "unknown kind 'weights'"),
        ({"extra": 1}, r"its __metadata__ has keys \["),
    ],
)
def test_malformed_metadata_document_is_refused(tmp_path, changes, message):
    path = _model(tmp_path)
    _rewrite_document(path, **changes)
    with pytest.raises(ModelFileError, match=f"^{_name(path)} is not a linclass model file: {message}"):
        read_bundle(path, kind="model")


def test_metadata_that_is_not_json_is_refused(tmp_path):
    path = _model(tmp_path)
    _rezip(path, {"__metadata__.npy": _npy_bytes(np.frombuffer(b"{not json", dtype=np.uint8))})
    with pytest.raises(ModelFileError, match="__metadata__ is not valid JSON"):
        read_bundle(path, kind="model")
    _rezip(path, {"__metadata__.npy": _npy_bytes(np.zeros(3, dtype=np.float32))})
    with pytest.raises(ModelFileError, match="__metadata__ is not a 1-D uint8 array"):
        read_bundle(path, kind="model")


def test_plain_npz_without_metadata_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, W=np.zeros((3, 2)))
    expected = f"^{_name(path)} is not a linclass model file: it has no __metadata__ entry$"
    with pytest.raises(ModelFileError, match=expected):
        read_bundle(path, kind="model")


def test_compressed_npz_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, __metadata__=np.zeros(1, np.uint8), W=np.zeros(2_000_000))
    assert path.stat().st_size < 50_000
    with pytest.raises(ModelFileError, match=r"entry '(W|__metadata__)\.npy' is compressed"):
        read_bundle(path, kind="model")


def test_header_declaring_more_data_than_the_entry_holds_is_refused_without_allocating(tmp_path):
    path = _model(tmp_path)
    header = io.BytesIO()
    npy_format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    _rezip(path, {"W.npy": header.getvalue() + b"\0" * 64})
    expected = r"array 'W' of shape \(1000000000000,\) and dtype float64 needs 8000000000128 bytes but"
    with pytest.raises(ModelFileError, match=expected):
        read_bundle(path, kind="model")


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    message = f"^{_name(path)} is not a linclass model file: not a zip archive$"
    with pytest.raises(ModelFileError, match=message):
        read_bundle(path, kind="model")


class _Payload:
    """Unpickling this creates a marker file: proof that a loader ran pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_files_are_refused_without_unpickling(tmp_path):
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe))).close()
    assert probe.exists()  # the payload is live

    marker = tmp_path / "marker"
    renamed = tmp_path / "pickle.npz"
    renamed.write_bytes(pickle.dumps({"W": _Payload(marker)}))
    with pytest.raises(ModelFileError, match="not a zip archive"):
        read_bundle(renamed, kind="model")

    object_npz = tmp_path / "object.npz"
    np.savez(object_npz, W=np.array([_Payload(marker)], dtype=object))
    _rezip(object_npz, {"__metadata__.npy": _npy_bytes(np.frombuffer(b"{}", dtype=np.uint8))})
    with pytest.raises(ModelFileError, match="array 'W' has unsupported dtype object"):
        read_bundle(object_npz, kind="model")
    assert not marker.exists()


# --------------------------------------------------------------------------- SIGKILL


_WRITER = """
import sys
import numpy as np
from linclass.io import write_bundle
path = sys.argv[1]
values = np.empty(5 * 2**20 // 8)
print("ready", flush=True)
for i in range(10**9):
    values.fill(i)
    write_bundle(path, {"values": values}, {"i": i}, kind="checkpoint")
    print("wrote", i, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")
def test_sigkill_during_writes_never_leaves_a_partial_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    rng = np.random.default_rng(0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    seen = set()
    killed_mid_write = kills = 0
    # At least 20 kills, and more (up to 200) until kills have landed mid-write 5 times: on a
    # loaded machine a write can take far longer than the time between two kills.
    while kills < 20 or (killed_mid_write < 5 or len(seen) < 2) and kills < 200:
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, env=env, text=True
        )
        assert proc.stdout.readline() == "ready\n"
        assert proc.stdout.readline() == "wrote 0\n"
        start = time.perf_counter()
        assert proc.stdout.readline() == "wrote 1\n"
        # kill somewhere in the next two writes
        time.sleep(rng.uniform(0.0, 2 * (time.perf_counter() - start)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        kills += 1
        assert proc.returncode == -signal.SIGKILL
        # Each writer's first write removed the temporary files earlier killed writers left.
        left = _temp_files(tmp_path)
        assert len(left) <= 1
        killed_mid_write += len(left)
        arrays, metadata = read_bundle(path, kind="checkpoint")
        assert arrays["values"].nbytes == 5 * 2**20
        np.testing.assert_array_equal(arrays["values"], metadata["i"])
        assert metadata["i"] >= 1
        seen.add(metadata["i"])
    assert path.exists()
    assert len(seen) > 1
    # Temporary files left by killed writers show that kills landed in the middle of writes.
    assert killed_mid_write >= 5
    write_bundle(path, {"values": np.zeros(1)}, {"i": -1}, kind="checkpoint")
    assert _temp_files(tmp_path) == []
