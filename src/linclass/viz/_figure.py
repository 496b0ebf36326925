"""One way to make a figure and save it: an off-screen Agg figure, a shared style, an atomic PNG.

Figures are ``matplotlib.figure.Figure`` objects rendered by the Agg canvas directly, so
drawing never imports ``pyplot`` and never changes the user's backend or global style.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator

try:
    import matplotlib
    from matplotlib.figure import Figure
except ImportError as exc:  # pragma: no cover - exercised only without the plot extra
    raise ImportError(
        "linclass.viz needs matplotlib; install it with: pip install 'linclass[plot]'"
    ) from exc

from linclass.atomic import atomic_write_bytes

STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "lines.linewidth": 2.0,
    "axes.prop_cycle": matplotlib.cycler(
        color=["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]
    ),
    "savefig.facecolor": "white",
}


@contextlib.contextmanager
def png_figure(path: str | os.PathLike, figsize: tuple[float, float], dpi: int) -> Iterator[Figure]:
    """Yield a new figure; when the block ends, write it to ``path`` as a PNG, atomically.

    The PNG is ``figsize[0] * dpi`` by ``figsize[1] * dpi`` pixels (layout is "constrained",
    never a tight bounding box, so the size is exactly what was asked). If the block raises,
    nothing is written.
    """
    width, height = _check_figsize(figsize)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 1000:
        raise ValueError(f"dpi must be an integer in [10, 1000], got {dpi!r}")
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        yield figure
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())


def _check_figsize(figsize: tuple[float, float]) -> tuple[float, float]:
    try:
        width, height = (float(v) for v in figsize)
    except (TypeError, ValueError):
        raise ValueError(f"figsize must be (width, height) in inches, got {figsize!r}") from None
    if not (0 < width <= 100 and 0 < height <= 100):
        raise ValueError(f"figsize must be (width, height) with each in (0, 100] inches, got {figsize!r}")
    return width, height

