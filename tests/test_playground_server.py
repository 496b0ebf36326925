"""``linclass playground``: serving on the loopback interface, exporting static files, packaging."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from fnmatch import fnmatch
from pathlib import Path

import pytest

from linclass.app.playground import export, make_server, static_files
from linclass.cli import main

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "linclass" / "app" / "playground" / "static"


def test_every_module_the_page_imports_is_shipped_and_nothing_points_off_the_machine():
    files = static_files()
    assert set(files) == {p.name for p in STATIC.iterdir()}
    imported = set()
    for name, data in files.items():
        text = data.decode()
        assert not re.search(r"https?://", text), f"{name} names a network address"
        imported.update(re.findall(r'from "\./([\w.]+)"', text))
        imported.update(re.findall(r'(?:src|href)="([\w.]+)"', text))
    assert imported - set(files) == set()
    assert {"app.js", "style.css"} <= imported


def test_the_package_data_patterns_ship_every_static_file():
    line = re.search(r'^"linclass\.app\.playground" = (\[.*\])$', (ROOT / "pyproject.toml").read_text(), re.M)
    patterns = json.loads(line.group(1))
    assert patterns
    for path in STATIC.iterdir():
        assert any(fnmatch(f"static/{path.name}", p) for p in patterns), path.name


def test_export_writes_the_files_the_server_serves(tmp_path, capsys):
    assert main(["playground", "--export", str(tmp_path / "site")]) == 0
    written = {p.name: p.read_bytes() for p in (tmp_path / "site").iterdir()}
    assert written == static_files()
    assert (
        capsys.readouterr().out
        == f"wrote {len(written)} files to {tmp_path / 'site'}; serve the folder with any web server\n"
    )
    assert [p.name for p in export(tmp_path / "site")] == sorted(written)  # exporting again overwrites


def test_export_into_a_file_is_an_error(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert main(["playground", "--export", str(tmp_path / "taken")]) == 1
    assert (
        capsys.readouterr().err
        == f"linclass playground: error: --export needs a folder, but {tmp_path / 'taken'} is a file\n"
    )


def test_server_answers_on_loopback_with_content_types_and_404s():
    server = make_server(0)
    assert server.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(base + "/") as response:
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.read() == static_files()["index.html"]
        with urllib.request.urlopen(base + "/app.js?x=1") as response:
            assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
        for path in ("/../pyproject.toml", "/nothing.js", "/static/app.js"):
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(base + path)
            assert info.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_the_command_serves_until_stopped_and_prints_the_address():
    process = subprocess.Popen(
        [sys.executable, "-m", "linclass", "playground", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"playground at (http://127\.0\.0\.1:\d+/) \(Ctrl-C stops\)\n", line)
        assert match, line
        with urllib.request.urlopen(match.group(1)) as response:
            assert b"<title>linclass playground" in response.read()
    finally:
        process.send_signal(2)  # SIGINT, as Ctrl-C
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert err == "playground stopped\n"


def test_a_port_in_use_is_one_line_and_exit_1(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 1
    assert capsys.readouterr().err == (
        f"linclass playground: error: port {port} is in use; choose another with --port (0 picks a free one)\n"
    )


@pytest.mark.parametrize("port", ["70000", "http"])
def test_a_bad_port_is_a_usage_error(port, capsys):
    with pytest.raises(SystemExit) as info:
        main(["playground", "--port", port])
    assert info.value.code == 2
    expected = f"expected a port number 0..65535, got {port if port == '70000' else repr(port)}"
    assert expected in capsys.readouterr().err


def test_the_exported_folder_works_from_another_static_server(tmp_path, browser):
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    export(tmp_path / "site")
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html#loss=softmax&reg=0.5")
        page.wait_for_selector("html[data-ready='1']")
        state = page.evaluate("window.playground.step(3)")
        assert (state["loss"], state["reg"], state["iteration"]) == ("softmax", 0.5, 3)
        assert errors == []
    finally:
        page.close()
        server.shutdown()
        server.server_close()
