"""Image folders: layouts, colour modes, resizing, archives and the decoded cache."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
from PIL import Image

from linclass.datasets import DataFormatError, DataNotFoundError, UnsafeDataError, load_image_folder
from linclass.datasets import folder as folder_module
from test_datasets_support import tar_folder

RNG = np.random.default_rng(0)


def save(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def make_split_tree(root, shape=(4, 5, 3)):
    """train/{dog,cat} with 3 and 2 PNGs, test/{cat,dog} with 1 each; returns the expected arrays."""
    expected = {}
    for split, counts in (("train", {"dog": 3, "cat": 2}), ("test", {"cat": 1, "dog": 1})):
        for cls, n in counts.items():
            for i in range(n):
                expected[(split, cls, i)] = save(root / split / cls / f"{i:03d}.png",
                                                 RNG.integers(0, 256, shape, dtype=np.uint8))  # fmt: skip
    return expected


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LINCLASS_CACHE_DIR", str(cache))
    return cache


def test_split_layout_gives_sorted_classes_and_file_name_order(tmp_path):
    expected = make_split_tree(tmp_path / "data")
    ds = load_image_folder(tmp_path / "data")
    assert ds.classes == ("cat", "dog")
    assert ds.y_train.tolist() == [0, 0, 1, 1, 1] and ds.y_test.tolist() == [0, 1]
    np.testing.assert_array_equal(ds.X_train[0], expected[("train", "cat", 0)])
    np.testing.assert_array_equal(ds.X_train[4], expected[("train", "dog", 2)])
    np.testing.assert_array_equal(ds.X_test[1], expected[("test", "dog", 0)])
    assert ds.X_train.dtype == np.uint8 and ds.image_shape == (4, 5, 3)


def test_class_folders_without_splits_give_a_train_split_only(tmp_path):
    for cls in ("b", "a"):
        save(tmp_path / "data" / cls / "x.png", np.full((3, 3), 7, np.uint8))
    ds = load_image_folder(tmp_path / "data")
    assert ds.X_train.shape == (2, 3, 3) and ds.X_test.shape == (0, 3, 3)
    assert ds.classes == ("a", "b") and ds.y_test.dtype == np.int64


@pytest.mark.parametrize("arcname", ["cifar-mini", "."])
def test_tar_gz_with_or_without_a_top_level_folder_matches_the_folder(tmp_path, arcname):
    make_split_tree(tmp_path / "data")
    from_folder = load_image_folder(tmp_path / "data", cache=False)
    from_archive = load_image_folder(tar_folder(tmp_path / "data.tar.gz", tmp_path / "data", arcname))
    np.testing.assert_array_equal(from_archive.X_train, from_folder.X_train)
    np.testing.assert_array_equal(from_archive.y_test, from_folder.y_test)
    assert from_archive.classes == from_folder.classes


def test_grey_images_stay_grey_and_mixed_sets_become_rgb(tmp_path):
    grey = save(tmp_path / "grey" / "a" / "0.png", np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert load_image_folder(tmp_path / "grey").X_train.shape == (1, 3, 4)
    save(tmp_path / "grey" / "b" / "0.png", np.zeros((3, 4, 3), np.uint8))
    mixed = load_image_folder(tmp_path / "grey")
    assert mixed.X_train.shape == (2, 3, 4, 3)
    np.testing.assert_array_equal(mixed.X_train[0], np.repeat(grey[:, :, None], 3, axis=2))


def test_grayscale_and_size_options_convert_and_resize(tmp_path):
    rgb = save(tmp_path / "d" / "a" / "0.png", RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    grey = load_image_folder(tmp_path / "d", grayscale=True)
    np.testing.assert_array_equal(grey.X_train[0], np.asarray(Image.fromarray(rgb).convert("L")))
    resized = load_image_folder(tmp_path / "d", size=(3, 4))
    assert resized.X_train.shape == (1, 3, 4, 3)
    expected = np.asarray(Image.fromarray(rgb).resize((4, 3), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(resized.X_train[0], expected)
    assert load_image_folder(tmp_path / "d", grayscale=False, size=(2, 2)).X_train.shape == (1, 2, 2, 3)


def test_images_of_different_sizes_need_the_size_option(tmp_path):
    save(tmp_path / "d" / "a" / "0.png", np.zeros((4, 4), np.uint8))
    save(tmp_path / "d" / "a" / "1.png", np.zeros((5, 4), np.uint8))
    with pytest.raises(DataFormatError, match=r"d:a/1\.png: image is 4x5 \(WxH\) but earlier images are 4x4; "
                       r"pass size=\(H, W\)"):  # fmt: skip
        load_image_folder(tmp_path / "d")
    assert load_image_folder(tmp_path / "d", size=(4, 4)).X_train.shape == (2, 4, 4)


def test_hidden_and_non_image_files_are_ignored(tmp_path):
    save(tmp_path / "d" / "a" / "0.png", np.zeros((2, 2), np.uint8))
    (tmp_path / "d" / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "d" / "a" / "._0.png").write_bytes(b"resource fork")
    save(tmp_path / "d" / ".hidden" / "0.png", np.zeros((2, 2), np.uint8))
    assert load_image_folder(tmp_path / "d").classes == ("a",)


def test_undecodable_image_names_the_file(tmp_path):
    save(tmp_path / "d" / "a" / "0.png", np.zeros((2, 2), np.uint8))
    (tmp_path / "d" / "a" / "1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataFormatError, match=r"d:a/1\.jpg: cannot decode image"):
        load_image_folder(tmp_path / "d")


def test_mixed_depths_are_a_layout_error(tmp_path):
    save(tmp_path / "d" / "a" / "0.png", np.zeros((2, 2), np.uint8))
    save(tmp_path / "d" / "b" / "deeper" / "0.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(
        DataFormatError, match=r"images sit in folders \['a', 'b/deeper'\]; expected train/<class>"
    ):
        load_image_folder(tmp_path / "d")


def test_missing_root_and_empty_folder_are_reported(tmp_path):
    with pytest.raises(DataNotFoundError, match="nope: no such folder or archive"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match=r"empty: holds no image files \(\.jpg"):
        load_image_folder(tmp_path / "empty")


def test_invalid_options_are_rejected():
    with pytest.raises(TypeError, match="grayscale must be None, True or False, got 'yes'"):
        load_image_folder("x", grayscale="yes")
    with pytest.raises(
        ValueError, match=r"size must be None or \(H, W\) with positive integers, got \(0, 3\)"
    ):
        load_image_folder("x", size=(0, 3))


def test_second_load_comes_from_the_cache(tmp_path, private_cache, monkeypatch):
    make_split_tree(tmp_path / "data")
    first = load_image_folder(tmp_path / "data")
    cached = sorted(p.name for p in (private_cache / "image-folder").iterdir())
    assert len(cached) == 1 and cached[0].endswith(".npz")
    monkeypatch.setattr(folder_module, "decode_image", lambda *a: pytest.fail("decoded again"))
    again = load_image_folder(tmp_path / "data")
    np.testing.assert_array_equal(again.X_train, first.X_train)
    np.testing.assert_array_equal(again.y_test, first.y_test)
    assert again.classes == first.classes and again.image_shape == first.image_shape


def test_cache_key_follows_options_and_content(tmp_path, private_cache):
    make_split_tree(tmp_path / "data")
    load_image_folder(tmp_path / "data")
    load_image_folder(tmp_path / "data", grayscale=True)
    save(tmp_path / "data" / "train" / "cat" / "009.png", np.zeros((4, 5, 3), np.uint8))
    assert load_image_folder(tmp_path / "data").X_train.shape == (6, 4, 5, 3)
    assert len(list((private_cache / "image-folder").glob("*.npz"))) == 3
    assert not [p for p in (private_cache / "image-folder").iterdir() if p.suffix != ".npz"]


def test_unreadable_cache_entry_is_rebuilt(tmp_path, private_cache):
    make_split_tree(tmp_path / "data")
    first = load_image_folder(tmp_path / "data")
    (entry,) = (private_cache / "image-folder").glob("*.npz")
    entry.write_bytes(b"torn")
    np.testing.assert_array_equal(load_image_folder(tmp_path / "data").X_train, first.X_train)
    assert entry.stat().st_size > 100


def test_cache_false_writes_nothing(tmp_path, private_cache):
    make_split_tree(tmp_path / "data")
    load_image_folder(tmp_path / "data", cache=False)
    assert not private_cache.exists()


def test_archive_with_traversal_member_is_refused(tmp_path):
    make_split_tree(tmp_path / "data")
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "data", arcname="data")
        tar.add(tmp_path / "data" / "train" / "cat" / "000.png", arcname="../train/cat/escape.png")
    with pytest.raises(
        UnsafeDataError, match=r"evil\.tar\.gz: member '\.\./train/cat/escape\.png' has a '\.\.'"
    ):
        load_image_folder(archive)
    assert not (tmp_path.parent / "train").exists()
