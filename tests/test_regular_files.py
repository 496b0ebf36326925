"""Only regular files are read and only regular files are replaced.

A FIFO blocks whoever opens it for reading until a writer appears, so every reader here must
refuse one from ``stat`` alone; a watchdog alarm turns a regression into a failure, not a hang.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import stat

import numpy as np
import pytest

import linclass
from linclass.app.predict import load_image
from linclass.atomic import NotRegularFileError, atomic_write_bytes, atomic_writer
from linclass.datasets import (
    DataFormatError,
    load_cifar10,
    load_csv,
    load_idx,
    load_image_folder,
    load_npy,
    load_npz,
    load_svmlight,
)
from linclass.io import ModelFileError, read_bundle, write_bundle
from linclass.train import TrainState

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX only")


@pytest.fixture(autouse=True)
def watchdog():
    def hung(signum, frame):
        raise TimeoutError("a reader blocked on a FIFO")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _fifo(path):
    os.mkfifo(path)
    return path


FIFO_MESSAGE = r"is a FIFO \(named pipe\), not a regular file; expected"


@pytest.mark.parametrize(
    ("name", "read", "error"),
    [
        ("d.npz", load_npz, DataFormatError),
        ("d.npy", load_npy, DataFormatError),
        ("d.csv", load_csv, DataFormatError),
        ("d.svm", load_svmlight, DataFormatError),
        ("train-images-idx3-ubyte", load_idx, DataFormatError),
        ("data_batch_1", load_cifar10, DataFormatError),
        ("model.npz", lambda p: read_bundle(p, kind="model"), ModelFileError),
        ("model.npz", linclass.load, ModelFileError),
        ("run.ckpt", TrainState.load, ModelFileError),
        ("seven.png", lambda p: load_image(p, (8, 8)), DataFormatError),
    ],
)
def test_every_reader_refuses_a_fifo_without_opening_it(tmp_path, name, read, error):
    path = _fifo(tmp_path / name)
    with pytest.raises(error, match=rf"{name}: {FIFO_MESSAGE}"):
        read(path)


def test_a_fifo_named_like_an_image_in_an_image_folder_is_refused(tmp_path):
    from PIL import Image

    (tmp_path / "train" / "cat").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "train" / "cat" / "a.png")
    _fifo(tmp_path / "train" / "cat" / "x.png")
    with pytest.raises(DataFormatError, match=rf"train/cat/x\.png: {FIFO_MESSAGE} an image file"):
        load_image_folder(tmp_path, cache=False)


def test_cifar_folder_with_a_fifo_batch_is_refused(tmp_path):
    from test_datasets_support import random_images, write_cifar_folder

    folder = write_cifar_folder(tmp_path / "c", random_images(4), random_images(2, seed=1), "python")
    os.unlink(folder / "data_batch_2")
    _fifo(folder / "data_batch_2")
    with pytest.raises(DataFormatError, match=rf"data_batch_2: {FIFO_MESSAGE} a CIFAR-10 batch file"):
        load_cifar10(folder)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_devices_are_refused_as_inputs(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} is absent")
    with pytest.raises(DataFormatError, match=rf"{device}: is a character device, not a regular file"):
        load_npz(device)


def test_a_socket_is_refused_as_an_input(tmp_path):
    path = tmp_path / "s.csv"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(DataFormatError, match=r"s\.csv: is a socket, not a regular file"):
            load_csv(path)


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("kind", ["fifo", "folder", "link to fifo"])
def test_the_atomic_writer_refuses_to_replace_what_is_not_a_regular_file(tmp_path, kind):
    target = tmp_path / "out.npz"
    if kind == "fifo":
        _fifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        _fifo(tmp_path / "pipe")
        target.symlink_to(tmp_path / "pipe")
    what = "a folder" if kind == "folder" else r"a FIFO \(named pipe\)"
    with pytest.raises(NotRegularFileError, match=rf"out\.npz: is {what}, not a regular file; refusing to replace"):
        write_bundle(target, {"W": np.ones(2)}, {}, kind="model")
    mode = os.lstat(target).st_mode
    assert {"fifo": stat.S_ISFIFO, "folder": stat.S_ISDIR, "link to fifo": stat.S_ISLNK}[kind](mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.npz"] + (["pipe"] if "link" in kind else []))


def test_dev_null_is_never_replaced():
    before = os.stat(os.devnull)
    for write in (lambda: atomic_write_bytes(os.devnull, b"data"),
                  lambda: write_bundle(os.devnull, {"W": np.ones(2)}, {}, kind="model")):  # fmt: skip
        with pytest.raises(NotRegularFileError, match=r"/dev/null: is a character device, not a regular file; "
                           r"refusing to replace it"):  # fmt: skip
            write()
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_link_to_a_regular_file_is_replaced_by_the_new_file(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    atomic_write_bytes(tmp_path / "link.txt", b"new")
    assert (tmp_path / "link.txt").read_bytes() == b"new"


def test_temporary_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "model.npz"
    stale = [tmp_path / f".model.npz.{h}.tmp" for h in ("0123456789ab", "ba9876543210")]
    for path in stale:
        path.write_bytes(b"partial")
    unrelated = [tmp_path / ".other.npz.0123456789ab.tmp", tmp_path / ".model.npz.notours.tmp"]
    for path in unrelated:
        path.write_bytes(b"keep")
    # A live writer holds a lock on its temporary file: that one must survive.
    live = tmp_path / ".model.npz.aaaaaaaaaaaa.tmp"
    live.write_bytes(b"in progress")
    with open(live, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        write_bundle(target, {"W": np.ones(2)}, {}, kind="model")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["model.npz", live.name] + [p.name for p in unrelated]
        )
    with atomic_writer(target) as handle:
        handle.write(b"x")
    assert not live.exists()
    assert target.read_bytes() == b"x"
