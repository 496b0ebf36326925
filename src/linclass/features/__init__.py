"""Image features for linear classifiers: scikit-learn transformers on uint8 image arrays.

- :class:`HOG`: histogram of oriented gradients (scikit-image's ``hog``);
- :class:`ColorHistogram`: HSV hue histogram; :func:`hog_color`: both side by side;
- :class:`KMeansFeatures`: Coates, Lee & Ng's single-layer k-means features.

Each takes ``(N, H, W)`` or ``(N, H, W, 3)`` uint8 images and returns ``(N, n_features)``
float32, works in chunks with a progress bar (``verbose=True`` on a terminal) and fits into a
scikit-learn ``Pipeline``. :data:`EXTRACTORS` names them for the command line. Needs
scikit-learn (all) and scikit-image (HOG, colour histogram): ``pip install linclass[features]``.

Example:
    >>> from sklearn.pipeline import make_pipeline
    >>> import linclass
    >>> from linclass.features import KMeansFeatures
    >>> model = make_pipeline(KMeansFeatures(n_centroids=400, random_state=0),
    ...                       linclass.LinearClassifier(loss="svm"))
    >>> [name for name, _ in model.steps]
    ['kmeansfeatures', 'linearclassifier']
"""

from __future__ import annotations

import importlib

# Names and the submodule defining each: importing ``linclass.features`` stays free of
# scikit-learn and scikit-image (the core imports no heavy dependency); a name loads its module.
_HOMES = {
    "ImageFeatures": "_base",
    "check_images": "_base",
    "describe": "extract",
    "extract_features": "extract",
    "HOG": "handcrafted",
    "ColorHistogram": "handcrafted",
    "hog_color": "handcrafted",
    "KMeansFeatures": "kmeans",
    "zca_whitening": "kmeans",
    "EXTRACTORS": "registry",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'linclass.features' has no attribute {name!r}")
    return getattr(importlib.import_module(f"linclass.features.{_HOMES[name]}"), name)
