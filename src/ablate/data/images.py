"""The array form every image source returns, below the sources and their loaders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Images:
    """A dataset as arrays; `test` holds an official test split when the source has one."""

    x: np.ndarray  # uint8 (N, H, W, C)
    y: np.ndarray  # int64 (N,)
    classes: list[str]
    test: tuple[np.ndarray, np.ndarray] | None = None
