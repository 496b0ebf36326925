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
    >>> model = make_pipeline(KMeansFeatures(n_centroids=400, random_state=0),
    ...                       linclass.LinearClassifier(loss="svm"))      # doctest: +SKIP
"""

from linclass.features._base import ImageFeatures, check_images
from linclass.features.extract import describe, extract_features
from linclass.features.handcrafted import HOG, ColorHistogram, hog_color
from linclass.features.kmeans import KMeansFeatures, zca_whitening
from linclass.registry import Registry

EXTRACTORS: Registry = Registry("kind")
EXTRACTORS.register("hog", HOG)
EXTRACTORS.register("color", ColorHistogram)
EXTRACTORS.register("hog-color", hog_color)
EXTRACTORS.register("kmeans", KMeansFeatures)

__all__ = [
    "EXTRACTORS",
    "HOG",
    "ColorHistogram",
    "ImageFeatures",
    "KMeansFeatures",
    "check_images",
    "describe",
    "extract_features",
    "hog_color",
    "zca_whitening",
]
