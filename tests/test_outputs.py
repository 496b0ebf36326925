"""Output paths are checked before any work: every command, every rule, exact messages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from linclass.app.outputs import OutputPathError, check_output_file, check_output_folder
from linclass.cli import main


@pytest.fixture
def specials(tmp_path):
    """A FIFO, a socket, links to them and to /dev/null, a broken link, a folder, a regular file."""
    os.mkfifo(tmp_path / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    os.symlink(tmp_path / "pipe", tmp_path / "to-pipe")
    os.symlink("/dev/null", tmp_path / "to-null")
    os.symlink(tmp_path / "gone", tmp_path / "broken")
    (tmp_path / "folder").mkdir()
    (tmp_path / "old.npz").write_bytes(b"old")
    os.symlink(tmp_path / "old.npz", tmp_path / "to-old")
    yield tmp_path
    server.close()


def refusal(check, path, *args):
    with pytest.raises(OutputPathError) as info:
        check(path, "--out", *args)
    return str(info.value)


def test_regular_files_missing_paths_and_links_to_regular_files_may_be_written(specials):
    for name in ("old.npz", "new.npz", "to-old"):
        assert check_output_file(specials / name, "--out") == specials / name


def test_devices_fifos_sockets_and_links_to_them_are_refused(specials):
    t = specials
    assert refusal(check_output_file, "/dev/null") == (
        "--out /dev/null: is a character device; linclass replaces only regular files"
    )
    assert refusal(check_output_file, f"{t}/pipe") == f"--out {t}/pipe: is a FIFO (named pipe); linclass replaces only regular files"
    assert refusal(check_output_file, f"{t}/sock") == f"--out {t}/sock: is a socket; linclass replaces only regular files"
    assert refusal(check_output_file, f"{t}/to-pipe") == (
        f"--out {t}/to-pipe: is a symbolic link to {t}/pipe, which is a FIFO (named pipe); linclass replaces only regular files"
    )
    assert refusal(check_output_file, f"{t}/to-null") == (
        f"--out {t}/to-null: is a symbolic link to /dev/null, which is a character device; "
        "linclass replaces only regular files"
    )
    assert refusal(check_output_file, f"{t}/broken") == (
        f"--out {t}/broken: is a broken symbolic link (to {t}/gone); remove it or give another path"
    )


def test_folders_and_missing_or_unwritable_parents_are_refused(specials):
    t = specials
    assert refusal(check_output_file, f"{t}/folder") == f"--out {t}/folder: is a folder; expected a file name"
    assert refusal(check_output_file, "sub/") == "--out sub/: is a folder; expected a file name"
    assert refusal(check_output_file, f"{t}/nope/m.npz") == (
        f"--out {t}/nope/m.npz: folder {t}/nope does not exist; create it first"
    )
    assert refusal(check_output_file, f"{t}/old.npz/m.npz") == (
        f"--out {t}/old.npz/m.npz: folder {t}/old.npz is not a folder"
    )
    # /proc refuses new files even to root, so this holds for every user
    assert refusal(check_output_file, "/proc/m.npz").startswith("--out /proc/m.npz: folder /proc is not writable (")


def test_a_folder_output_refuses_image_names_files_and_special_members(specials):
    t = specials
    figures = ("templates.png", "history.png")
    assert check_output_folder(t / "new" / "figs", "--out", figures) == t / "new" / "figs"
    assert refusal(check_output_folder, "figs.png", figures) == (
        "--out figs.png: names an image, but templates.png, history.png are written into a folder; "
        "give a folder, for example --out figs"
    )
    assert refusal(check_output_folder, f"{t}/old.npz", figures) == (
        f"--out {t}/old.npz: is a file; expected a folder to write templates.png, history.png into"
    )
    os.mkfifo(t / "folder" / "history.png")
    assert refusal(check_output_folder, f"{t}/folder", figures) == (
        f"--out {t}/folder: history.png: is a FIFO (named pipe); linclass replaces only regular files"
    )


def test_no_probe_file_is_left_behind(tmp_path):
    check_output_file(tmp_path / "m.npz")
    check_output_folder(tmp_path)
    assert list(tmp_path.iterdir()) == []


# A data source that would fail to load: an output error must come first, exit 2.
MISSING = "cifar10:/nonexistent/cifar"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", MISSING, "--out", "/dev/null"],
         "--out /dev/null: is a character device; linclass replaces only regular files"),
        (["train", "--data", MISSING, "--checkpoint", "{t}/pipe"],
         "--checkpoint {t}/pipe: is a FIFO (named pipe); linclass replaces only regular files"),
        (["tune", "--data", MISSING, "--out", "{t}/nope/best.npz"],
         "--out {t}/nope/best.npz: folder {t}/nope does not exist; create it first"),
        (["evaluate", "{t}/missing-model.npz", "--data", MISSING, "--plot", "{t}/folder"],
         "--plot {t}/folder: is a folder; expected a file name"),
        (["evaluate", "{t}/missing-model.npz", "--data", MISSING, "--plot", "{t}/confusion.pdf"],
         "--plot {t}/confusion.pdf: figures are written as PNG; expected a name ending in .png"),
        (["features", "--kind", "kmeans", "--data", MISSING, "--out", "{t}/f.npz", "--plot", "{t}/centroids"],
         "--plot {t}/centroids: figures are written as PNG; expected a name ending in .png"),
        (["probe", "--train", "{t}/missing.npz", "--plot", "{t}/curve.txt"],
         "--plot {t}/curve.txt: figures are written as PNG; expected a name ending in .png"),
        (["predict", "{t}/missing-model.npz", "digits:test[0]", "--out", "{t}/to-null"],
         "--out {t}/to-null: is a symbolic link to /dev/null, which is a character device; "
         "linclass replaces only regular files"),
        (["plot", "{t}/missing-model.npz", "--out", "{t}/figs.png"],
         "--out {t}/figs.png: names an image, but templates.png, history.png are written into a folder; "
         "give a folder, for example --out {t}/figs"),
        (["plot", "lecture", "--out", "{t}/old.npz"],
         "--out {t}/old.npz: is a file; expected a folder to write hinge_loss.png, softmax_example.png, "
         "nll_bases.png into"),
    ],
)  # fmt: skip
def test_every_command_checks_its_outputs_before_any_work(specials, capsys, argv, message):
    argv = [a.format(t=specials) for a in argv]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"linclass {argv[0]}: error: {message.format(t=specials)}\n"
    assert os.path.exists("/dev/null") and (specials / "pipe").is_fifo()


def test_out_dev_null_exits_2_at_once_and_leaves_the_device(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "linclass", "train", "--out", "/dev/null"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "linclass train: error: --out /dev/null: is a character device; linclass replaces only regular files\n"
    )
    assert result.stdout == ""  # refused before the first epoch
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
