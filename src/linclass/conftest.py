"""Doctests of the package run in a fresh temporary folder, so their examples may write files."""

import pytest


@pytest.fixture(autouse=True)
def _doctests_run_in_a_temporary_folder(request, tmp_path, monkeypatch):
    if type(request.node).__name__ == "DoctestItem":
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("LINCLASS_CACHE_DIR", str(tmp_path / "cache"))
