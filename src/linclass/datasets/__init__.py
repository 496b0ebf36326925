"""Real data in, safely: CIFAR-10, MNIST-style IDX, image folders, users' files, toy sets.

Every loader returns a ``Dataset`` (``X_train, y_train, X_test, y_test, classes,
image_shape``); images stay uint8 ``(N, H, W)`` or ``(N, H, W, 3)``. Every loader error is a
``ValueError`` (``DataFormatError``, ``UnsafeDataError`` or ``DataNotFoundError``) whose message
names the file, says what is wrong and what was expected.
"""

from linclass.splits import CS231nSplit, cs231n_split, split_indices, train_val_split

from .base import DataFormatError, DataNotFoundError, Dataset, UnsafeDataError
from .cifar import CIFAR10_CLASSES, load_cifar10
from .featurefile import load_features, save_features
from .fetch import ChecksumError, DownloadError, download, fetch
from .files import load_csv, load_npy, load_npz, load_svmlight
from .folder import load_image_folder
from .idx import FASHION_MNIST_CLASSES, MNIST_CLASSES, load_fashion_mnist, load_idx, load_mnist
from .source import DATASETS, DataSpecError, Source, accepted_forms, check_spec, forms_text, load_source
from .toy import load_digits, make_blobs, make_linearly_separable, make_spiral

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "CS231nSplit",
    "ChecksumError",
    "DataFormatError",
    "DataNotFoundError",
    "DataSpecError",
    "Dataset",
    "DownloadError",
    "Source",
    "UnsafeDataError",
    "accepted_forms",
    "check_spec",
    "cs231n_split",
    "download",
    "fetch",
    "forms_text",
    "load_cifar10",
    "load_csv",
    "load_digits",
    "load_features",
    "load_fashion_mnist",
    "load_idx",
    "load_image_folder",
    "load_mnist",
    "load_npy",
    "load_npz",
    "load_source",
    "load_svmlight",
    "make_blobs",
    "make_linearly_separable",
    "make_spiral",
    "save_features",
    "split_indices",
    "train_val_split",
]
