"""Checksummed downloads against a local HTTP server (127.0.0.1, ephemeral port); no internet."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from linclass.datasets import ChecksumError, DownloadError, download, fetch, load_cifar10, load_mnist
from linclass.datasets.fetch import REMOTES
from test_datasets_support import (
    IMAGES,
    LABELS,
    cifar_python_batch,
    cifar_python_meta,
    idx_bytes,
    random_images,
    tar_gz,
)

TRAIN, TEST = random_images(6), random_images(3, seed=1)


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        if server.status is not None:
            self.send_error(server.status)
            return
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        requested = self.headers.get("Range")
        if requested and server.ranges:
            start = int(requested.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if server.cuts > 0:
            server.cuts -= 1
            payload = payload[: len(payload) // 2]
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests, httpd.status, httpd.ranges, httpd.cuts = {}, [], None, True, 0
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}/data/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cifar_archive(tmp_path_factory):
    members = {"cifar-10-batches-py/data_batch_1": cifar_python_batch(*TRAIN),
               "cifar-10-batches-py/test_batch": cifar_python_batch(*TEST),
               "cifar-10-batches-py/batches.meta": cifar_python_meta()}  # fmt: skip
    return tar_gz(tmp_path_factory.mktemp("served") / "source.tar.gz", members).read_bytes()


def test_fetch_downloads_verifies_and_loads(server, tmp_path, cifar_archive):
    server.files["/data/cifar-10-python.tar.gz"] = cifar_archive
    dest = tmp_path / "dest"
    path = fetch("cifar10", dest, url=server.base, checksums={"cifar-10-python.tar.gz": md5(cifar_archive)})
    assert path == dest / "cifar-10-python.tar.gz" and path.read_bytes() == cifar_archive
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-python.tar.gz"]
    np.testing.assert_array_equal(load_cifar10(path).X_test, TEST[0])


def test_verified_file_is_not_downloaded_again(server, tmp_path, cifar_archive):
    server.files["/data/cifar-10-python.tar.gz"] = cifar_archive
    checksums = {"cifar-10-python.tar.gz": md5(cifar_archive)}
    fetch("cifar10", tmp_path, url=server.base, checksums=checksums)
    fetch("cifar10", tmp_path, url=server.base, checksums=checksums)
    assert len(server.requests) == 1


def test_wrong_checksum_leaves_no_file(server, tmp_path, cifar_archive):
    server.files["/data/cifar-10-python.tar.gz"] = cifar_archive
    with pytest.raises(ChecksumError, match=rf"cifar-10-python\.tar\.gz: downloaded from .* has md5 "
                       rf"{md5(cifar_archive)} but c58f30108f718f92721af3b95e74349a was expected"):  # fmt: skip
        fetch("cifar10", tmp_path, url=server.base)
    assert list(tmp_path.iterdir()) == []


def test_cut_transfer_is_resumed_with_a_range_request(server, tmp_path, cifar_archive):
    server.files["/data/cifar-10-python.tar.gz"] = cifar_archive
    server.cuts = 1
    path = fetch(
        "cifar10", tmp_path, url=server.base, checksums={"cifar-10-python.tar.gz": md5(cifar_archive)}
    )
    assert path.read_bytes() == cifar_archive
    assert server.requests == [("/data/cifar-10-python.tar.gz", None),
                               ("/data/cifar-10-python.tar.gz", f"bytes={len(cifar_archive) // 2}-")]  # fmt: skip


def test_transfer_cut_every_time_keeps_the_part_file_only(server, tmp_path, cifar_archive):
    server.files["/data/cifar-10-python.tar.gz"] = cifar_archive
    server.cuts = 100
    with pytest.raises(DownloadError, match=r"the transfer was cut 3 times; .* bytes are kept in .*\.part"):
        fetch("cifar10", tmp_path, url=server.base, checksums={"cifar-10-python.tar.gz": md5(cifar_archive)})
    assert [p.name for p in tmp_path.iterdir()] == ["cifar-10-python.tar.gz.part"]
    server.cuts = 0
    fetch("cifar10", tmp_path, url=server.base, checksums={"cifar-10-python.tar.gz": md5(cifar_archive)})
    assert (tmp_path / "cifar-10-python.tar.gz").read_bytes() == cifar_archive


def test_server_error_is_a_clear_download_error(server, tmp_path):
    server.status = 500
    with pytest.raises(DownloadError, match=r"/data/cifar-10-binary\.tar\.gz: the server answered HTTP 500"):
        fetch("cifar10-binary", tmp_path, url=server.base)
    assert list(tmp_path.iterdir()) == []


def test_resume_from_an_existing_part_file(server, tmp_path):
    content = bytes(range(256)) * 40
    server.files["/data/blob.bin"] = content
    (tmp_path / "blob.bin.part").write_bytes(content[:1000])
    download(server.base + "blob.bin", tmp_path / "blob.bin", md5=md5(content))
    assert (tmp_path / "blob.bin").read_bytes() == content
    assert server.requests == [("/data/blob.bin", "bytes=1000-")]
    assert not (tmp_path / "blob.bin.part").exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    content = b"0123456789" * 100
    server.files["/data/blob.bin"] = content
    server.ranges = False
    (tmp_path / "blob.bin.part").write_bytes(b"stale partial content")
    download(server.base + "blob.bin", tmp_path / "blob.bin", md5=md5(content))
    assert (tmp_path / "blob.bin").read_bytes() == content


def test_corrupt_part_file_is_discarded_and_downloaded_again(server, tmp_path):
    content = b"abcdefghij" * 100
    server.files["/data/blob.bin"] = content
    (tmp_path / "blob.bin.part").write_bytes(b"X" * 500)
    download(server.base + "blob.bin", tmp_path / "blob.bin", md5=md5(content))
    assert (tmp_path / "blob.bin").read_bytes() == content
    assert server.requests == [("/data/blob.bin", "bytes=500-"), ("/data/blob.bin", None)]


def test_complete_part_file_answered_with_416_is_verified(server, tmp_path):
    content = b"complete" * 10
    server.files["/data/blob.bin"] = content
    (tmp_path / "blob.bin.part").write_bytes(content)
    download(server.base + "blob.bin", tmp_path / "blob.bin", md5=md5(content))
    assert (tmp_path / "blob.bin").read_bytes() == content


def test_mnist_fetch_returns_a_loadable_folder(server, tmp_path):
    test = (IMAGES[:2], LABELS[:2])
    files = {"train-images-idx3-ubyte.gz": idx_bytes(IMAGES, True), "train-labels-idx1-ubyte.gz": idx_bytes(LABELS, True),
             "t10k-images-idx3-ubyte.gz": idx_bytes(test[0], True), "t10k-labels-idx1-ubyte.gz": idx_bytes(test[1], True)}  # fmt: skip
    server.files.update({f"/data/{name}": content for name, content in files.items()})
    folder = fetch(
        "mnist", tmp_path / "mnist", url=server.base, checksums={n: md5(c) for n, c in files.items()}
    )
    assert folder == tmp_path / "mnist"
    np.testing.assert_array_equal(load_mnist(folder).X_train, IMAGES)


def test_default_destination_is_the_data_home(server, tmp_path, monkeypatch, cifar_archive):
    monkeypatch.setenv("LINCLASS_DATA", str(tmp_path))
    server.files["/data/cifar-10-python.tar.gz"] = cifar_archive
    path = fetch("cifar10", url=server.base, checksums={"cifar-10-python.tar.gz": md5(cifar_archive)})
    assert path == tmp_path / "cifar10" / "cifar-10-python.tar.gz"


def test_unreachable_server_is_a_download_error(tmp_path, server):
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(DownloadError, match=rf"http://127\.0\.0\.1:{port}/x: cannot connect"):
        download(f"http://127.0.0.1:{port}/x", tmp_path / "x", md5="0" * 32, timeout=5)


def test_unknown_name_lists_the_supported_ones(tmp_path):
    with pytest.raises(ValueError, match=r"name='imagenet' is not supported; expected one of \['cifar10', "
                       r"'cifar10-binary', 'fashion-mnist', 'mnist'\]"):  # fmt: skip
        fetch("imagenet", tmp_path)


def test_published_checksums_are_the_official_ones():
    assert REMOTES["cifar10"].files == {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"}
    assert REMOTES["cifar10-binary"].files == {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"}
    assert REMOTES["mnist"].files["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert REMOTES["fashion-mnist"].files["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
