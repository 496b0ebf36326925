"""The extractors by name, for the command line's ``--kind``."""

from linclass.features.handcrafted import HOG, ColorHistogram, hog_color
from linclass.features.kmeans import KMeansFeatures
from linclass.registry import Registry

EXTRACTORS: Registry = Registry("kind")
EXTRACTORS.register("hog", HOG)
EXTRACTORS.register("color", ColorHistogram)
EXTRACTORS.register("hog-color", hog_color)
EXTRACTORS.register("kmeans", KMeansFeatures)
