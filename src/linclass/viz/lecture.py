"""The lecture's figures: the hinge loss, the softmax worked example and the bases for NLL.

The curves are the library's own losses (:mod:`linclass.losses`), evaluated on a grid of
scores, so the figures show exactly what training minimizes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from linclass.losses import (
    logistic,
    multiclass_hinge,
    negative_logistic,
    softmax,
    softmax_cross_entropy,
    squash_clip_nll,
)
from linclass.viz._figure import png_figure

SOFTMAX_CLASSES = ("cat", "car", "frog")
SOFTMAX_SCORES = (3.2, 5.1, -1.7)
CLIP_FLOOR = 1e-3


def plot_hinge_loss(
    path: str | os.PathLike, *, figsize: tuple[float, float] = (6.4, 4.2), dpi: int = 100
) -> Path:
    """Write the hinge loss ``max(0, s_j - s_y + 1)`` and its square against the margin ``s_y - s_j``.

    The loss is zero once the correct score beats the other by the margin ``Δ = 1`` and grows
    linearly (squared hinge: quadratically) below it.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    margin = np.linspace(-3.0, 3.0, 601)
    # two classes: the correct one (0) scores the margin, the other 0, so L = max(0, 0 - margin + 1)
    scores = np.column_stack([margin, np.zeros_like(margin)])
    correct = np.zeros(margin.size, np.int64)
    hinge, _ = multiclass_hinge(scores, correct, reduction="none")
    squared_hinge, _ = multiclass_hinge(scores, correct, p=2, reduction="none")
    with png_figure(path, figsize, dpi) as figure:
        ax = figure.add_subplot()
        ax.plot(margin, hinge, label=r"hinge  $\max(0,\ s_j - s_{y} + 1)$")
        ax.plot(margin, squared_hinge, linestyle="--", label=r"squared hinge  $\max(0,\ s_j - s_{y} + 1)^2$")
        ax.axvline(1.0, color="0.4", linewidth=1, linestyle=":")
        ax.annotate("margin Δ = 1:\nno loss beyond here", xy=(1.0, 0.0), xytext=(1.35, 2.2),
                    arrowprops={"arrowstyle": "->", "color": "0.3"}, fontsize=9)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-0.1, 5)
        ax.set_xlabel(r"score margin  $s_{y} - s_j$  (correct class minus another class)")
        ax.set_ylabel(r"loss term for class $j$")
        ax.set_title("Multiclass SVM (hinge) loss")
        ax.legend(loc="upper right")
    return Path(path)


def plot_softmax_example(
    path: str | os.PathLike, *, figsize: tuple[float, float] = (10.0, 3.8), dpi: int = 100
) -> Path:
    """Write the lecture's softmax example: scores (3.2, 5.1, -1.7) for cat, car, frog.

    Three panels follow the computation: the raw scores (logits), ``exp`` of the scores
    (unnormalized probabilities) and their normalization, the probabilities (0.13, 0.87, 0.00).
    The title gives the loss when the true class is cat, ``L = -ln 0.13 = 2.04``.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    scores = np.array(SOFTMAX_SCORES)
    unnormalized = np.exp(scores)
    probabilities = softmax(scores[None, :])[0]
    panels = [
        ("scores (logits) $s$", scores, "{:.1f}"),
        ("unnormalized probabilities $e^{s}$", unnormalized, "{:.2f}"),
        (r"probabilities $e^{s_k}\ /\ \Sigma_j\, e^{s_j}$", probabilities, "{:.2f}"),
    ]
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c"]
    with png_figure(path, figsize, dpi) as figure:
        axes = figure.subplots(1, 3)
        for ax, (title, values, fmt) in zip(axes, panels, strict=True):
            bars = ax.bar(SOFTMAX_CLASSES, values, color=colours, width=0.6)
            ax.bar_label(bars, [_minus(fmt.format(v)) for v in values], padding=2, fontsize=9)
            ax.axhline(0, color="0.3", linewidth=0.8)
            ax.set_title(title, fontsize=10)
            ax.grid(axis="x", visible=False)
            low, high = min(values.min(), 0), values.max()
            ax.set_ylim(low - 0.12 * (high - low) * (low < 0), high + 0.15 * (high - low))
        axes[2].set_ylim(0, 1.1)
        loss, _ = softmax_cross_entropy(scores[None, :], [0])
        figure.suptitle(
            "Softmax: exponentiate, then normalize — "
            f"true class cat: L = −ln {probabilities[0]:.2f} = {loss:.2f}"
        )
    return Path(path)


def nll_bases(x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The lecture's three bases for NLL of a positive example with raw score ``x``.

    1. squash and clip: ``p = clip(x, ε, 1)``, ``L = -ln p``; ``dL/dx = -1/x`` on ``(ε, 1)``,
       else 0 (``ε = 1e-3``);
    2. negative logistic: ``L = -σ(x)``; ``dL/dx = -σ(x)(1 - σ(x))``;
    3. NLL with the logistic: ``L = -ln σ(x) = ln(1 + e^{-x})``; ``dL/dx = σ(x) - 1``.

    Returns:
        name -> ``(loss, dloss_dx)``, each shaped like ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    positive = np.ones(x.shape, np.int64)
    return {
        "(1) squash and clip to (0, 1], then −ln": squash_clip_nll(
            x, positive, eps=CLIP_FLOOR, reduction="none"
        ),
        "(2) negative logistic  −σ(x)": negative_logistic(x, positive, reduction="none"),
        "(3) NLL with the logistic  −ln σ(x)": logistic(x, positive, reduction="none"),
    }


def plot_nll_bases(
    path: str | os.PathLike, *, figsize: tuple[float, float] = (12.0, 6.0), dpi: int = 100
) -> Path:
    """Write the three bases for NLL (see :func:`nll_bases`): loss and gradient against the score.

    For a positive example, a confidently wrong classifier has a very negative score ``x``.
    Only basis (3) still has a large gradient there (``dL/dx → -1``); (1) is clipped flat
    (gradient 0) and (2) saturates (gradient ``→ 0``), so training gets no guidance.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    x = np.linspace(-10.0, 10.0, 2001)
    bases = nll_bases(x)
    wrong = -8.0
    with png_figure(path, figsize, dpi) as figure:
        axes = figure.subplots(2, 3, sharex=True)
        for column, (name, (loss, grad)) in enumerate(bases.items()):
            top, bottom = axes[0, column], axes[1, column]
            colour = f"C{column}"
            top.plot(x, loss, color=colour)
            top.set_title(name, fontsize=10)
            bottom.plot(x, grad, color=colour)
            bottom.set_ylim(-1.25, 0.15)
            bottom.set_xlabel("raw score x (positive example)")
            at_wrong = float(np.interp(wrong, x, grad))
            bottom.annotate(_minus(f"dL/dx at x = {wrong:g}:\n{at_wrong:.2g}"), xy=(wrong, at_wrong),
                            xytext=(-9.5, -0.8), fontsize=9, arrowprops={"arrowstyle": "->", "color": "0.3"})
            for ax in (top, bottom):
                ax.axvspan(-10, -2, color="#d62728", alpha=0.07, linewidth=0)
            top.text(-6, 0.05, "confidently wrong", transform=top.get_xaxis_transform(), ha="center",
                     fontsize=8, color="#a01c1c")
        axes[0, 0].set_ylabel("loss L")
        axes[1, 0].set_ylabel("gradient dL/dx")
        axes[1, 0].annotate("−1/x runs off the chart\nas x → ε", xy=(0.05, -1.25), xytext=(2.0, -0.9),
                            fontsize=8, arrowprops={"arrowstyle": "->", "color": "0.3"})
        figure.suptitle("Bases for NLL (binary, logistic σ): only NLL with the logistic keeps "
                        "a strong gradient when the classifier is wrong")
    return Path(path)


def _minus(text: str) -> str:
    # Matches the typographic minus matplotlib uses on tick labels.
    return text.replace("-", "−")


def plot_lecture(out_dir: str | os.PathLike, *, dpi: int = 100) -> list[Path]:
    """Write the lecture figures into ``out_dir`` (created if missing) and return their paths.

    Files: ``hinge_loss.png``, ``softmax_example.png``, ``nll_bases.png``.
    """
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    return [
        plot_hinge_loss(directory / "hinge_loss.png", dpi=dpi),
        plot_softmax_example(directory / "softmax_example.png", dpi=dpi),
        plot_nll_bases(directory / "nll_bases.png", dpi=dpi),
    ]
