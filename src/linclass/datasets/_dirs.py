"""Where linclass keeps downloaded data and decoded caches (both overridable by environment)."""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    """Directory for downloaded data sets: ``$LINCLASS_DATA`` or ``~/.cache/linclass``."""
    return Path(os.environ.get("LINCLASS_DATA") or Path.home() / ".cache" / "linclass").expanduser()


def cache_dir() -> Path:
    """Directory for decoded caches: ``$LINCLASS_CACHE_DIR`` or ``~/.cache/linclass``."""
    return Path(os.environ.get("LINCLASS_CACHE_DIR") or Path.home() / ".cache" / "linclass").expanduser()
