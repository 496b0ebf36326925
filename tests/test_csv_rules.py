"""CSV text that looks like something else: a byte-order mark, first rows that look like
headers but are data, and values the requested dtype cannot hold."""

from __future__ import annotations

import numpy as np
import pytest

from linclass.datasets import DataFormatError, load_csv


def _csv(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path):
    path = _csv(tmp_path, "\ufeffkind,width,height\ncat,1,2\ndog,3,4\n")
    ds = load_csv(path, label="kind")
    np.testing.assert_array_equal(ds.X_train, [[1, 2], [3, 4]])
    assert ds.classes == ("cat", "dog")


def test_a_byte_order_mark_before_data_keeps_the_first_row(tmp_path):
    ds = load_csv(_csv(tmp_path, "\ufeff1,2,0\n3,4,1\n"))
    np.testing.assert_array_equal(ds.X_train, [[1, 2], [3, 4]])


@pytest.mark.parametrize("first", ["nan,2,0", "inf,2,0", "-inf,2,0", " nan , 2 ,0", "NaN,2,0"])
def test_a_first_row_of_nan_or_inf_is_data_not_a_header(tmp_path, first):
    ds = load_csv(_csv(tmp_path, f"{first}\n3,4,1\n"))
    assert ds.X_train.shape == (2, 2)
    assert not np.isfinite(ds.X_train[0, 0]) and ds.X_train[0, 1] == 2


def test_a_first_row_with_an_empty_cell_is_data_and_the_cell_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"t\.csv: row 1, column 2 holds ''; expected a number"):
        load_csv(_csv(tmp_path, "1,,0\n3,4,1\n"))


def test_a_first_row_with_a_name_is_a_header_and_an_empty_name_is_allowed(tmp_path):
    ds = load_csv(_csv(tmp_path, "x,,label\n1,2,0\n3,4,1\n"))
    np.testing.assert_array_equal(ds.X_train, [[1, 2], [3, 4]])


def test_header_false_keeps_every_row_and_header_true_drops_the_first(tmp_path):
    path = _csv(tmp_path, "1,2,0\n3,4,1\n5,6,0\n")
    assert load_csv(path, header=False).X_train.shape == (3, 2)
    assert load_csv(path, header=True).X_train.shape == (2, 2)


@pytest.mark.parametrize(
    ("dtype", "cell", "message"),
    [
        ("float32", "1e39", r"holds 1e\+39, which overflows float32 \(largest 3\.40282e\+38\)"),
        ("float16", "70000", r"holds 70000\.0, which overflows float16 \(largest 65504\)"),
        ("int8", "300", r"holds 300\.0, which is not a whole number in -128\.\.127, so int8 cannot hold it"),
        ("uint8", "-1", r"holds -1\.0, which is not a whole number in 0\.\.255, so uint8 cannot hold it"),
        ("int64", "1.5", r"holds 1\.5, which is not a whole number in .*, so int64 cannot hold it"),
        ("int32", "nan", r"holds nan, which is not a whole number in .*, so int32 cannot hold it"),
        ("bool", "2", r"holds 2\.0, which is not a whole number in 0\.\.1, so bool cannot hold it"),
    ],
)
def test_a_value_the_dtype_cannot_hold_is_an_error_naming_the_cell(tmp_path, dtype, cell, message):
    path = _csv(tmp_path, f"a,b,y\n1,0,0\n0,{cell},1\n")
    with pytest.raises(DataFormatError, match=rf"t\.csv: row 3, column 2 \('b'\) {message}"):
        load_csv(path, dtype=dtype)


def test_values_the_dtype_holds_are_converted_exactly(tmp_path):
    path = _csv(tmp_path, "a,b,y\n-128,127,0\n0,1,1\n")
    ds = load_csv(path, dtype="int8")
    assert ds.X_train.dtype == np.int8
    np.testing.assert_array_equal(ds.X_train, [[-128, 127], [0, 1]])
    assert load_csv(path, dtype=np.float32).X_train[0, 0] == -128.0


def test_a_non_numeric_dtype_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match=r"dtype must be a bool, integer or floating NumPy dtype, got <U1"):
        load_csv(_csv(tmp_path, "1,2,0\n"), dtype="U1")
