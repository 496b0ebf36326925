"""The linear probe: CLIP's protocol, the optimum scikit-learn reaches, the report, memory-mapped files."""

import json
import math

import numpy as np
import pytest

from linclass.app.probe import probe
from linclass.app.probe_data import ProbeInputError, load_split
from linclass.cli import main
from linclass.datasets import load_digits, save_features
from linclass.datasets.mapped import map_arrays
from linclass.splits import split_indices


@pytest.fixture(scope="module")
def digits():
    data = load_digits().flatten()
    return (data.X_train / 16.0, data.y_train), (data.X_test / 16.0, data.y_test)


@pytest.fixture(scope="module")
def files(digits, tmp_path_factory):
    folder = tmp_path_factory.mktemp("probe")
    (X, y), (X_test, y_test) = digits
    np.savez(folder / "train.npz", X=X, y=y)
    np.savez(folder / "test.npz", features=X_test, labels=y_test)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    return folder


def test_probe_finds_scikit_learns_optimum_and_validation_scores(digits):
    sklearn = pytest.importorskip("sklearn.linear_model")
    (X, y), test = digits
    report = probe((X, y), test, Cs=[0.1, 1.0], tol=1e-8)
    fit, val = split_indices(y, 0.2, stratify=True, random_state=0)
    for point in report.validation_curve:
        reference = sklearn.LogisticRegression(C=point["C"], tol=1e-8, max_iter=10_000).fit(X[fit], y[fit])
        assert point["accuracy"] == reference.score(X[val], y[val])
        assert point["alpha"] == pytest.approx(1 / (2 * point["C"] * len(fit)))
    refit = sklearn.LogisticRegression(C=report.C, tol=1e-8, max_iter=10_000).fit(X, y)
    W, b = report.params
    np.testing.assert_allclose(W.T, refit.coef_, atol=1e-4, rtol=0)
    np.testing.assert_allclose(b, refit.intercept_, atol=1e-4, rtol=0)
    assert report.test_accuracy == refit.score(*test)


def test_default_search_is_coarse_then_halved_to_an_eighth_of_a_decade(digits):
    report = probe(*digits)
    exponents = sorted(round(math.log10(point["C"]), 6) for point in report.validation_curve)
    assert set(range(-6, 7, 2)) <= set(exponents)
    chosen = math.log10(report.C)
    assert min(abs(e - chosen) for e in exponents if e != round(chosen, 6)) == pytest.approx(0.125)
    accuracies = {round(math.log10(p["C"]), 6): p["accuracy"] for p in report.validation_curve}
    assert report.validation_accuracy == max(accuracies.values()) == accuracies[round(chosen, 6)]
    assert len(exponents) == 7 + 2 * 4  # four halvings, two new points each
    assert report.converged and report.test_accuracy > 0.94


def test_report_holds_counts_per_class_accuracy_and_timings(digits):
    (X, y), (X_test, y_test) = digits
    report = probe((X, y), (X_test, y_test), Cs=[1.0])
    assert (report.n_train, report.n_validation, report.n_test, report.n_features) == (1150, 288, 359, 64)
    W, b = report.params
    predicted = (X_test @ W + b).argmax(axis=1)
    assert report.test_accuracy == np.mean(predicted == y_test)
    for label, accuracy in report.per_class_accuracy.items():
        assert accuracy == np.mean(predicted[y_test == int(label)] == int(label))
    document = json.loads(json.dumps(report.as_dict()))
    assert set(document) >= {"C", "validation_curve", "test_accuracy", "per_class_accuracy", "seconds", "iterations"}
    assert "params" not in document
    assert document["seconds"]["total"] >= document["seconds"]["search"] > 0
    assert document["iterations"]["search"] == sum(p["iterations"] for p in report.validation_curve)


def test_files_are_memory_mapped_and_every_form_gives_the_same_report(digits, files, tmp_path):
    arrays = map_arrays(files / "train.npz")
    assert isinstance(arrays["X"], np.memmap) and arrays["X"].filename == str(files / "train.npz")
    np.testing.assert_array_equal(arrays["X"], digits[0][0])
    split = load_split(f"{files / 'X.npy'},{files / 'y.npy'}", "train")
    assert isinstance(split.X, np.memmap)
    expected = probe(*digits, Cs=[0.5, 2.0]).as_dict()
    for train, test in [
        (files / "train.npz", files / "test.npz"),
        (f"{files / 'X.npy'},{files / 'y.npy'}", files / "test.npz"),
    ]:
        got = probe(train, test, Cs=[0.5, 2.0]).as_dict()
        assert got["validation_curve"] == expected["validation_curve"]
        assert got["test_accuracy"] == expected["test_accuracy"]


def test_a_feature_file_brings_its_own_test_split(digits, tmp_path):
    data = load_digits().flatten()
    save_features(tmp_path / "feats.npz", data, source="digits", settings={"kind": "pixels"})
    report = probe(tmp_path / "feats.npz", Cs=[1.0])
    assert report.n_test == 359 and report.n_train + report.n_validation == 1438
    assert report.classes == [str(k) for k in range(10)]


def test_compressed_archives_are_read_and_object_arrays_refused(tmp_path):
    np.savez_compressed(tmp_path / "small.npz", X=np.eye(3), y=np.arange(3))
    assert not isinstance(map_arrays(tmp_path / "small.npz")["X"], np.memmap)
    np.save(tmp_path / "objects.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    with pytest.raises(ProbeInputError, match="objects.npy"):
        load_split(f"{tmp_path / 'objects.npy'},{tmp_path / 'objects.npy'}", "--train")


def test_cli_json_report_and_plot(files, tmp_path, capsys):
    png = tmp_path / "curve.png"
    code = main(["probe", "--train", str(files / "train.npz"), "--test", str(files / "test.npz"),
                 "--Cs", "0.1,1,10", "--json", "--plot", str(png)])  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["C"] for p in report["validation_curve"]] == pytest.approx([0.1, 1.0, 10.0])
    assert report["C"] in (0.1, 1.0, 10.0) and 0.9 < report["test_accuracy"] <= 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.parametrize(
    "make, flags, message",
    [
        (None, ["--train", "missing.npz"], "--train missing.npz: missing.npz is not a file"),
        (None, ["--train", "{d}/train.npz", "--Cs", "1,-2"], "--Cs must be a comma-separated list of numbers > 0"),
        (None, ["--train", "{d}/X.npy"], "a .npy file holds no labels; pass FEATURES.npy,LABELS.npy"),
        ({"X": np.zeros((4, 3)), "z": np.zeros(4)}, ["--train", "{f}"], "expected arrays X and y (or features"),
        ({"X": np.zeros((4, 3)), "y": np.zeros(5)}, ["--train", "{f}"], "expected one label per row (4)"),
        ({"X": np.zeros((4, 3)), "y": np.arange(4)}, ["--train", "{d}/train.npz", "--test", "{f}"],
         "--test {f}: 3 features per row, but train has 64"),
        ({"X": np.zeros((2, 64)), "y": np.array([0, 11])}, ["--train", "{d}/train.npz", "--test", "{f}"],
         "label 11 does not occur in train"),
        (None, ["--train", "{d}/train.npz", "--val-fraction", "1.5"], "--val-fraction must be in (0, 1), got 1.5"),
        ({"X": np.zeros((0, 3)), "y": np.zeros(0)}, ["--train", "{f}"], "--train {f}: holds no rows"),
        ({"X": np.zeros((0, 64)), "y": np.zeros(0)}, ["--train", "{d}/train.npz", "--test", "{f}"],
         "--test {f}: holds no rows"),
        ({"X": np.ones((6, 3)), "y": np.full(6, 7)}, ["--train", "{f}"],
         "--train {f}: every label is 7; a classifier needs at least two classes"),
        ({"X": np.ones((6, 3)), "y": np.array(["cat"] * 6)}, ["--train", "{f}"],
         "--train {f}: every label is 'cat'; a classifier needs at least two classes"),
        ({"X": np.ones((6, 3)), "y": np.array([0, 1, 0.25, 1, 0, 1])}, ["--train", "{f}"],
         "--train {f}: Unknown label type: continuous (for example 0.25). Maybe you are trying to fit a "
         "classifier"),
        ({"X": np.ones((6, 3)), "y": np.array([0, 1, np.nan, 1, 0, 1])}, ["--train", "{f}"],
         "--train {f}: Input y contains NaN or infinity; labels must be finite class labels."),
        ({"X": np.ones((6, 3)), "y": np.array([0, 1, 2j, 1, 0, 1])}, ["--train", "{f}"],
         "--train {f}: Unknown label type: y has dtype complex128."),
        ({"X": np.ones((2, 3)), "y": np.array([0, 1])}, ["--train", "{f}"],
         "--train {f}: 2 rows are too few for a validation split of 0.2 (0 rows held out, 2 of the 2 classes "
         "in the other 2); expected at least one held-out row and two classes to fit"),
        ({"X": np.ones((2, 3)), "y": np.array([0, 1])}, ["--train", "{f}", "--val-fraction", "0.5"],
         "--train {f}: 2 rows are too few for a validation split of 0.5 (1 rows held out, 1 of the 2 classes "
         "in the other 1)"),
    ],
)  # fmt: skip
def test_cli_bad_inputs_exit_2_with_one_line_naming_the_flag(files, tmp_path, capsys, make, flags, message):
    bad = tmp_path / "bad.npz"
    if make is not None:
        np.savez(bad, **make)
    flags = [flag.format(d=files, f=bad) for flag in flags]
    try:
        code = main(["probe", "--quiet", *flags])
    except SystemExit as exc:  # argparse's own range checks exit while parsing
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message.format(d=files, f=bad) in err


def test_a_memory_mapped_file_on_the_torch_cpu_backend_is_shared_without_a_warning(files, tmp_path):
    pytest.importorskip("torch")
    import subprocess
    import sys

    # in a fresh process: PyTorch reports a read-only array once per process, so an earlier test
    # could have used up the report
    script = (
        "import warnings, numpy as np; warnings.simplefilter('error');"
        "from linclass.app.probe_data import load_split; from linclass._devices import host_tensor;"
        f"split = load_split({str(files / 'train.npz')!r}, 'train');"
        "assert isinstance(split.X, np.memmap) and not split.X.flags.writeable;"
        "t = host_tensor(split.X); assert t.data_ptr() == split.X.ctypes.data;"
        f"from linclass.app.probe import probe; r = probe({str(files / 'train.npz')!r}, device='cpu', Cs=[1.0]);"
        "print(r.C)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1.0\n" and "not writable" not in result.stderr
