"""Users' own files: .npz, .npy, CSV and LIBSVM/SVMlight."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from linclass.datasets import (
    DataFormatError,
    DataNotFoundError,
    load_csv,
    load_npy,
    load_npz,
    load_svmlight,
)

X = np.arange(12, dtype=np.float32).reshape(4, 3)


def test_npz_with_train_and_test_keys(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X_train=X, y_train=np.array([2, 0, 2, 1]), X_test=X[:2], y_test=np.array([1, 0]))
    ds = load_npz(path)
    np.testing.assert_array_equal(ds.X_train, X)
    assert ds.y_train.tolist() == [2, 0, 2, 1] and ds.y_test.tolist() == [1, 0]
    assert ds.classes == ("0", "1", "2") and ds.image_shape is None and ds.X_train.dtype == np.float32


def test_npz_with_x_and_y_and_string_labels(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.array(["cat", "dog", "cat", "ant"]))
    ds = load_npz(path)
    assert ds.classes == ("ant", "cat", "dog") and ds.y_train.tolist() == [1, 2, 1, 0]
    assert ds.X_test.shape == (0, 3)


def test_npz_with_class_names_and_images_keeps_uint8_and_image_shape(tmp_path):
    path = tmp_path / "d.npz"
    images = np.zeros((2, 4, 4, 3), np.uint8)
    np.savez(path, X_train=images, y_train=np.array([0, 2]), classes=np.array(["a", "b", "c"]))
    ds = load_npz(path)
    assert ds.classes == ("a", "b", "c") and ds.image_shape == (4, 4, 3) and ds.X_train.dtype == np.uint8


def test_npz_refuses_object_arrays_and_unknown_keys(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.array([object()], dtype=object), y=np.array([0]))
    with pytest.raises(
        DataFormatError, match=r"d\.npz: array 'X' has unsupported dtype object; .*object arrays are refused"
    ):
        load_npz(path)
    np.savez(path, features=X)
    with pytest.raises(DataFormatError, match=r"holds arrays \['features'\]; expected X_train and y_train"):
        load_npz(path)


def test_npz_claiming_an_unknown_zip_version_is_a_format_error(tmp_path):
    # zipfile raises NotImplementedError for it, also while checking for a feature file
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X.npy", b"abc")
    content = bytearray(buffer.getvalue())
    content[content.index(b"PK\x01\x02") + 6] = 64  # "version needed to extract": 6.4
    path = tmp_path / "future.npz"
    path.write_bytes(bytes(content))
    with pytest.raises(DataFormatError, match=r"future\.npz: not a readable \.npz archive \(zip file version 6\.4\)$"):
        load_npz(path)


def test_npz_with_mismatched_lengths_is_an_error(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.array([0, 1]))
    with pytest.raises(DataFormatError, match=r"y_train has shape \(2,\) but X_train has 4 rows"):
        load_npz(path)


def test_npy_table_uses_the_last_column_as_label_by_default(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.column_stack([X, [1, 0, 1, 0]]))
    ds = load_npy(path)
    np.testing.assert_array_equal(ds.X_train, X)
    assert ds.y_train.tolist() == [1, 0, 1, 0]
    assert load_npy(path, label=0).y_train.tolist() == [0, 1, 2, 3]


def test_csv_with_header_and_named_string_label(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text("sepal,species,petal\n1.5,setosa,2\n\n3,virginica,4.25\n")
    ds = load_csv(path, label="species")
    np.testing.assert_array_equal(ds.X_train, np.array([[1.5, 2], [3, 4.25]], np.float32))
    assert ds.classes == ("setosa", "virginica") and ds.X_train.dtype == np.float32


def test_csv_without_header_defaults_to_the_last_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2,0\n3,4,1\n5,6,1\n")
    ds = load_csv(path)
    assert ds.X_train.shape == (3, 2) and ds.y_train.tolist() == [0, 1, 1] and ds.classes == ("0", "1")


def test_csv_header_detection_ignores_a_text_label_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2,cat\n3,4,dog\n")
    assert load_csv(path).X_train.shape == (2, 2)


def test_csv_non_numeric_cell_names_row_and_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(
        DataFormatError, match=r"t\.csv: row 3, column 2 \('b'\) holds 'oops'; expected a number"
    ):
        load_csv(path)


def test_csv_ragged_row_and_unknown_label_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,0\n3,1\n")
    with pytest.raises(DataFormatError, match=r"row 3 has 2 columns; expected 3 like the first row"):
        load_csv(path)
    with pytest.raises(
        DataFormatError, match=r"has no column named 'kind'; found columns \['a', 'b', 'label'\]"
    ):
        load_csv(path, label="kind")
    with pytest.raises(DataFormatError, match=r"label column 5 is out of range; the table has 3 columns"):
        load_csv(path, label=5)


def test_svmlight_one_based_with_qid_and_comments(tmp_path):
    path = tmp_path / "d.svm"
    path.write_text("# header comment\n+1 qid:3 1:0.5 3:2\n-1 2:1.5  # trailing\n\n2 1:1\n")
    ds = load_svmlight(path)
    np.testing.assert_array_equal(ds.X_train, np.array([[0.5, 0, 2], [0, 1.5, 0], [1, 0, 0]], np.float32))
    assert ds.classes == ("-1", "1", "2") and ds.y_train.tolist() == [1, 0, 2]
    assert ds.X_train.dtype == np.float32


def test_svmlight_zero_based_and_n_features(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("0 0:1 2:3\n1 1:2\n")
    ds = load_svmlight(path, zero_based=True, n_features=5)
    np.testing.assert_array_equal(ds.X_train, np.array([[1, 0, 3, 0, 0], [0, 2, 0, 0, 0]], np.float32))
    with pytest.raises(
        DataFormatError, match=r"line 1 uses index 0 but indices start at 1; pass zero_based=True"
    ):
        load_svmlight(path, zero_based=False)


def test_svmlight_counts_from_zero_when_a_file_uses_index_0(tmp_path):
    # scikit-learn's dump_svmlight_file writes zero-based indices by default
    path = tmp_path / "d.svm"
    path.write_text("1 1:2\n0 0:1 2:3\n")
    np.testing.assert_array_equal(load_svmlight(path).X_train, np.array([[0, 2, 0], [1, 0, 3]], np.float32))
    path.write_text("1 1:2\n0 3:1\n")
    np.testing.assert_array_equal(load_svmlight(path).X_train, np.array([[2, 0, 0], [0, 0, 1]], np.float32))


def test_svmlight_malformed_tokens_and_sizes(tmp_path):
    path = tmp_path / "d.svm"
    path.write_text("1 1:2 3=4\n")
    with pytest.raises(DataFormatError, match=r"d\.svm: line 1 has token '3=4'; expected index:value"):
        load_svmlight(path)
    path.write_text("cat 1:2\n")
    with pytest.raises(DataFormatError, match=r"line 1 starts with 'cat'; expected a numeric label"):
        load_svmlight(path)
    path.write_text("1 4:2\n")
    with pytest.raises(DataFormatError, match=r"uses feature index 4 but n_features=2"):
        load_svmlight(path, n_features=2)
    path.write_text("1 1000000000000:2\n")
    with pytest.raises(
        DataFormatError, match=r"1 samples x 1000000000000 features as a dense float32 array would take 4,000,000,000,000"
    ):
        load_svmlight(path)


def test_fractional_labels_are_rejected(tmp_path):
    path = tmp_path / "d.svm"
    path.write_text("0.5 1:2\n1 1:3\n")
    with pytest.raises(DataFormatError, match=r"d\.svm: labels must be whole numbers or names of classes"):
        load_svmlight(path)


@pytest.mark.parametrize("loader", [load_npz, load_npy, load_csv, load_svmlight])
def test_missing_file_is_reported(tmp_path, loader):
    with pytest.raises(DataNotFoundError, match="absent.dat: no such file"):
        loader(tmp_path / "absent.dat")


def test_npz_and_npy_contents_are_not_confused(tmp_path):
    np.save(tmp_path / "single.npy", X)
    (tmp_path / "single.npz").write_bytes((tmp_path / "single.npy").read_bytes())
    with pytest.raises(DataFormatError, match=r"single\.npz: holds a single array \(\.npy content\)"):
        load_npz(tmp_path / "single.npz")
    np.savez(tmp_path / "archive.npz", X=X, y=np.zeros(4))
    (tmp_path / "archive.npy").write_bytes((tmp_path / "archive.npz").read_bytes())
    with pytest.raises(
        DataFormatError, match=r"archive\.npy: holds a \.npz archive; expected a single \.npy array"
    ):
        load_npy(tmp_path / "archive.npy")
