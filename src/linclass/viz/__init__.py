"""Figures people look at: weight templates, training curves, confusion matrices, lecture plots.

Every function takes plain arrays or lists and an output path, writes a PNG atomically and
returns the path. Drawing uses matplotlib's Agg canvas without ``pyplot``, so it works on
machines without a display and leaves the user's matplotlib settings alone. This package
needs the ``plot`` extra (``pip install 'linclass[plot]'``); the core library never imports it.
"""

from linclass.viz.centroids import centroid_mosaic, plot_centroids
from linclass.viz.confusion import plot_confusion_matrix
from linclass.viz.curves import plot_history
from linclass.viz.lecture import (
    nll_bases,
    plot_hinge_loss,
    plot_lecture,
    plot_nll_bases,
    plot_softmax_example,
)
from linclass.viz.templates import plot_weight_templates, weight_templates

__all__ = [
    "centroid_mosaic",
    "nll_bases",
    "plot_centroids",
    "plot_confusion_matrix",
    "plot_hinge_loss",
    "plot_history",
    "plot_lecture",
    "plot_nll_bases",
    "plot_softmax_example",
    "plot_weight_templates",
    "weight_templates",
]
