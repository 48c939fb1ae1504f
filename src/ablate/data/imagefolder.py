"""The user's own data: a folder with one subfolder of images per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ablate.data.images import Images
from ablate.errors import DataError

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def load_image_folder(path: str | None) -> Images:
    """Read `path/<class>/<image>`; every image must share one size and colour mode."""
    from PIL import Image, UnidentifiedImageError

    if not path:
        raise DataError("data.name=imagefolder needs data.path=<folder of class subfolders>")
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"data.path={path!r} is not a folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(f"data.path={path!r} needs at least 2 class subfolders, found {classes}")
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise DataError(f"class folder {root / name} holds no images ({sorted(SUFFIXES)})")
        for file in files:
            try:
                with Image.open(file) as img:
                    array = np.asarray(img.convert("RGB" if img.mode not in ("L", "1") else "L"))
            except (UnidentifiedImageError, OSError) as err:
                raise DataError(f"cannot read image {file}: {err}") from None
            array = array[..., None] if array.ndim == 2 else array
            if images and array.shape != images[0].shape:
                raise DataError(
                    f"image {file} is {array.shape}, but earlier images are {images[0].shape}: "
                    "resize them to one size first"
                )
            images.append(array)
            labels.append(label)
    return Images(np.stack(images).astype(np.uint8), np.asarray(labels, np.int64), classes)
