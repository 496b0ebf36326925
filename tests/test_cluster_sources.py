"""Chunked sources for the cluster (.npy files, memory maps, image folders) and data bigger than a worker."""

import numpy as np
import pytest

from linclass import LinearClassifier
from linclass.datasets.base import DataFormatError
from linclass.datasets.chunked import memmap_chunks, npy_chunks, read_rows
from linclass.kernels.cluster import DaskKernels

N_FEATURES = 256


def write_repeated_npy(path, n_blocks, block_rows=65536, seed=0):
    """A float32 ``.npy`` of ``n_blocks`` copies of one random block, written without holding it whole.

    Returns the block and its labels (of a random linear teacher).
    """
    rng = np.random.default_rng(seed)
    block = rng.random((block_rows, N_FEATURES), dtype=np.float32) - np.float32(0.5)
    labels = (block @ rng.normal(size=(N_FEATURES, 3))).argmax(axis=1)
    with open(path, "wb") as file:
        header = {"descr": "<f4", "fortran_order": False, "shape": (n_blocks * block_rows, N_FEATURES)}
        np.lib.format.write_array_header_1_0(file, header)
        for _ in range(n_blocks):
            file.write(block.data)
    return block, labels


def test_npy_chunks_read_the_rows_of_the_file(tmp_path):
    X = np.arange(70, dtype=np.int16).reshape(14, 5)
    np.save(tmp_path / "x.npy", X)
    chunked = npy_chunks(tmp_path / "x.npy", chunk_rows=4)
    assert chunked.chunks == ((4, 4, 4, 2), (5,)) and chunked.dtype == np.int16
    np.testing.assert_array_equal(chunked.compute(scheduler="sync"), X)
    by_bytes = npy_chunks(tmp_path / "x.npy", chunk_bytes=30)
    assert by_bytes.chunks[0] == (3, 3, 3, 3, 2)


def test_memmap_chunks_read_the_memmap_file(tmp_path):
    mm = np.memmap(tmp_path / "raw.bin", dtype=np.float32, mode="w+", shape=(9, 4), offset=16)
    mm[:] = np.arange(36, dtype=np.float32).reshape(9, 4)
    mm.flush()
    np.testing.assert_array_equal(memmap_chunks(mm, chunk_rows=4).compute(scheduler="sync"), mm)
    with pytest.raises(TypeError, match="^array must be a numpy.memmap of a file, got ndarray$"):
        memmap_chunks(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="^array must be a whole C-contiguous memmap"):
        memmap_chunks(mm[2:])


def test_bad_files_are_refused_with_the_reason(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.zeros((3, 2))))
    with pytest.raises(DataFormatError, match=r"f.npy: stored in Fortran order; expected C order"):
        npy_chunks(tmp_path / "f.npy")
    np.save(tmp_path / "o.npy", np.array([None, 1], dtype=object))
    with pytest.raises(DataFormatError, match=r"o.npy: holds dtype object; expected a numeric array"):
        npy_chunks(tmp_path / "o.npy")
    (tmp_path / "t.npy").write_bytes(b"not a numpy file")
    with pytest.raises(DataFormatError, match=r"t.npy: not a .npy file"):
        npy_chunks(tmp_path / "t.npy")
    with pytest.raises(DataFormatError, match=r"rows 0:4 end after 12 of 16 bytes; the file is truncated"):
        (tmp_path / "short.bin").write_bytes(bytes(12))
        read_rows(str(tmp_path / "short.bin"), 0, "<f4", (1,), 0, 4)


def test_a_file_four_times_the_memory_limit_trains_without_a_worker_restart(own_dask_client, tmp_path):
    client = own_dask_client
    workers = dict(client.scheduler_info()["workers"])
    (limit,) = {w["memory_limit"] for w in workers.values()}
    n_blocks = -(-4 * limit // (65536 * N_FEATURES * 4))
    block, labels = write_repeated_npy(tmp_path / "big.npy", n_blocks)
    assert (tmp_path / "big.npy").stat().st_size >= 4 * limit
    options = dict(optimizer="gd", epochs=1, learning_rate=0.5, preprocess="none", dtype="float32")
    X = npy_chunks(tmp_path / "big.npy", chunk_bytes=limit // 16)
    model = LinearClassifier(**options, backend=DaskKernels(client)).fit(X, np.tile(labels, n_blocks))
    assert set(client.scheduler_info()["workers"]) == set(workers)  # no worker was restarted
    # one gradient step from zero: the mean gradient of the repeated block is the block's own
    expected = LinearClassifier(**options, backend="numpy").fit(block, labels)
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-4, atol=1e-7)
    assert model.history_["train_accuracy"] == expected.history_["train_accuracy"]


def test_image_folder_chunks_decode_like_the_folder_loader(tmp_path):
    from PIL import Image

    from linclass.datasets import load_image_folder
    from linclass.datasets.chunked import image_folder_chunks

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / "train" / label).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "train" / label / f"{i}.png")
    X, y, classes = image_folder_chunks(tmp_path, size=(3, 4), chunk_images=3)
    expected = load_image_folder(tmp_path, size=(3, 4), grayscale=False, cache=False)
    assert X.chunks == ((3, 3, 2), (36,)) and X.dtype == np.uint8 and classes == ("cat", "dog")
    np.testing.assert_array_equal(X.compute(scheduler="sync"), expected.X_train.reshape(8, -1))
    np.testing.assert_array_equal(y, expected.y_train)
    with pytest.raises(DataFormatError, match=r"has no 'test' split; found \['train'\]"):
        image_folder_chunks(tmp_path, size=(3, 4), split="test")
