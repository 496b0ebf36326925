"""The ``--data`` spec parser and the DATASETS registry."""

from __future__ import annotations

import numpy as np
import pytest

from linclass.datasets import DATASETS, DataSpecError, Source, accepted_forms, load_source
from linclass.datasets import source as source_module
from test_datasets_support import random_images, write_cifar_folder, write_mnist


def test_registry_holds_the_named_sources():
    assert DATASETS.names() == ["blobs", "cifar10", "digits", "fashion-mnist", "folder", "mnist", "spiral"]
    assert DATASETS.resolve("cifar10").path == "required"


def test_digits_and_toy_specs():
    assert load_source("digits").X_train.shape == (1438, 8, 8)
    blobs = load_source("blobs")
    assert (
        blobs.X_train.shape == (240, 2)
        and blobs.X_test.shape == (60, 2)
        and blobs.X_train.dtype == np.float32
    )
    assert load_source("spiral").name == "spiral"


def test_cifar10_mnist_fashion_and_folder_specs(tmp_path, monkeypatch):
    monkeypatch.setenv("LINCLASS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LINCLASS_DATA", str(tmp_path))
    cifar = write_cifar_folder(tmp_path / "cifar", random_images(4), random_images(2, seed=1), "binary")
    assert load_source(f"cifar10:{cifar}").X_train.shape == (4, 32, 32, 3)
    assert load_source(f"mnist:{write_mnist(tmp_path / 'mnist')}").X_train.shape == (6, 28, 28)
    write_mnist(tmp_path / "fashion-mnist")
    assert load_source("fashion-mnist").classes[0] == "T-shirt/top"
    assert load_source(f"fashion-mnist:{tmp_path / 'mnist'}").X_test.shape == (2, 28, 28)
    from PIL import Image

    (tmp_path / "imgs" / "a").mkdir(parents=True)
    Image.fromarray(np.zeros((2, 3), np.uint8)).save(tmp_path / "imgs" / "a" / "0.png")
    assert load_source(f"folder:{tmp_path / 'imgs'}").X_train.shape == (1, 2, 3)


def test_file_specs_by_extension(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 2)), y=np.array([0, 1, 0]))
    np.save(tmp_path / "d.npy", np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0]]))
    (tmp_path / "d.csv").write_text("f,g,label\n1,2,x\n3,4,y\n")
    for ext in (".svm", ".libsvm", ".txt"):
        (tmp_path / f"d{ext}").write_text("1 1:2\n0 2:3\n")
    assert load_source(str(tmp_path / "d.npz")).X_train.shape == (3, 2)
    assert load_source(str(tmp_path / "d.npy")).y_train.tolist() == [0, 1]
    assert load_source(str(tmp_path / "d.csv")).classes == ("x", "y")
    for ext in (".svm", ".libsvm", ".txt"):
        assert load_source(str(tmp_path / f"d{ext}")).X_train.tolist() == [[2.0, 0.0], [0.0, 3.0]]


def test_csv_label_option_by_name_and_index(tmp_path):
    (tmp_path / "d.csv").write_text("kind,f,g\na,1,2\nb,3,4\n")
    by_name = load_source(f"{tmp_path / 'd.csv'}#label=kind")
    by_index = load_source(f"{tmp_path / 'd.csv'}#label=0")
    assert by_name.classes == by_index.classes == ("a", "b")
    np.testing.assert_array_equal(by_name.X_train, np.array([[1, 2], [3, 4]], np.float32))


def test_unknown_spec_lists_the_accepted_forms_as_text_and_suggests_the_closest():
    forms = ("blobs, cifar10:PATH, digits, fashion-mnist[:PATH], folder:PATH, mnist:PATH, spiral, or a file "
             "FILE.npz, FILE.npy, FILE.csv, FILE.svm, FILE.libsvm, FILE.txt, FILE.csv#label=NAME_OR_INDEX")  # fmt: skip
    with pytest.raises(DataSpecError) as info:
        load_source("imagenet")
    assert str(info.value) == f"data='imagenet': not a data source; expected {forms}"
    for spec, guess in (("digit", "digits"), ("cifar:/x", "cifar10:/x"), ("table.cvs", "table.csv"),
                        ("fashion_mnist", "fashion-mnist")):  # fmt: skip
        with pytest.raises(DataSpecError) as info:
            load_source(spec)
        assert info.value.problem == f"not a data source; did you mean {guess!r}? expected {forms}"
    with pytest.raises(ValueError, match="data='table.xlsx': not a data source; expected blobs"):
        load_source("table.xlsx")
    with pytest.raises(ValueError, match="data='': not a data spec"):
        load_source("")


def test_a_folder_given_as_a_file_points_to_the_folder_forms(tmp_path):
    with pytest.raises(DataSpecError) as info:
        load_source(str(tmp_path))
    assert info.value.problem == (
        f"is a folder; write folder:{tmp_path} for <split>/<class>/<image> folders, cifar10:{tmp_path} for "
        f"CIFAR-10 batches or mnist:{tmp_path} for MNIST files"
    )


def test_path_rules_for_named_sources():
    with pytest.raises(ValueError, match="data='cifar10': cifar10 needs a path; write 'cifar10:PATH'"):
        load_source("cifar10")
    with pytest.raises(ValueError, match="data='digits:x': digits takes no path; write 'digits'"):
        load_source("digits:x")
    with pytest.raises(ValueError, match="'#label=' applies to .csv and .npy files only"):
        load_source("d.npz#label=2")


def test_adding_a_source_is_one_registration(monkeypatch):
    registry = source_module.Registry("data")
    for name in DATASETS.names():
        registry.register(name, DATASETS.resolve(name))
    registry.register("tiny", Source(lambda: source_module.toy_dataset("blobs", 10, 2), "none"))
    monkeypatch.setattr(source_module, "DATASETS", registry)
    assert load_source("tiny").X_train.shape == (8, 2)
    assert "tiny" in accepted_forms()
