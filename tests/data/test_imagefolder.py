"""The user's own folder of images: read when well formed, a clear error otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ablate.data.imagefolder import load_image_folder
from ablate.errors import DataError


def write_folder(root: Path, sizes: dict[str, list[tuple[int, int]]]) -> Path:
    for label, shapes in sizes.items():
        (root / label).mkdir(parents=True)
        for i, (w, h) in enumerate(shapes):
            value = 40 if label == "a" else 200
            Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(root / label / f"{i}.png")
    return root


def test_reads_classes_in_sorted_order(tmp_path: Path):
    root = write_folder(tmp_path / "imgs", {"b": [(6, 5)] * 2, "a": [(6, 5)] * 3})
    images = load_image_folder(str(root))
    assert images.classes == ["a", "b"]
    assert images.x.shape == (5, 5, 6, 3) and images.y.tolist() == [0, 0, 0, 1, 1]
    assert images.x[0].max() == 40 and images.x[-1].min() == 200


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda r: None, "is not a folder"),
        (lambda r: r.mkdir(), "needs at least 2 class subfolders"),
        (lambda r: [(r / c).mkdir(parents=True) for c in "ab"], "holds no images"),
    ],
)
def test_missing_or_empty_folder_is_named(tmp_path: Path, setup, message):
    root = tmp_path / "imgs"
    setup(root)
    with pytest.raises(DataError, match=message):
        load_image_folder(str(root))


def test_mixed_sizes_are_refused(tmp_path: Path):
    root = write_folder(tmp_path / "imgs", {"a": [(6, 5)], "b": [(7, 5)]})
    with pytest.raises(DataError, match=r"1.png|0.png"):
        load_image_folder(str(root))


def test_unreadable_image_is_named(tmp_path: Path):
    root = write_folder(tmp_path / "imgs", {"a": [(6, 5)], "b": [(6, 5)]})
    (root / "b" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read image .*broken.png"):
        load_image_folder(str(root))
