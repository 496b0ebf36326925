"""Serve the playground page on the loopback interface, or write it out as static files.

The files are read once from the installed package (``linclass/app/playground/static``) and
served from memory, so the server answers only for those names and never touches the disk
afterwards.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from linclass.atomic import atomic_write_bytes

HOST = "127.0.0.1"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def static_files() -> dict[str, bytes]:
    """The page's files by name (``index.html``, ``app.js``, ...), read from the package."""
    folder = resources.files("linclass.app.playground") / "static"
    files = {
        entry.name: entry.read_bytes()
        for entry in folder.iterdir()
        if entry.is_file() and Path(entry.name).suffix in CONTENT_TYPES
    }
    if "index.html" not in files:
        raise OSError(f"the playground's files are missing from the installation (looked in {folder})")
    return files


def export(directory: str | os.PathLike) -> list[Path]:
    """Write the page into ``directory`` (created if needed); returns the written paths.

    Each file is written atomically. The folder works from any static web server, offline
    (browsers load JavaScript modules over HTTP, not from ``file://``).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"--export needs a folder, but {directory} is a file")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(static_files().items()):
        atomic_write_bytes(directory / name, data)
        written.append(directory / name)
    return written


def make_server(port: int = 0) -> ThreadingHTTPServer:
    """A server for the page on ``127.0.0.1:port`` (0 picks a free port); call ``serve_forever``.

    Raises:
        OSError: the port is taken (errno ``EADDRINUSE``) or not allowed.
    """
    files = static_files()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, body: bool) -> None:
            name = self.path.split("?", 1)[0].split("#", 1)[0].lstrip("/") or "index.html"
            data = files.get(name)
            if data is None:
                self.send_error(HTTPStatus.NOT_FOUND, f"no such file: /{name}")
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", CONTENT_TYPES[Path(name).suffix])
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:
            # a classroom laptop's terminal should show the URL, not a line per request
            pass

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    return server
