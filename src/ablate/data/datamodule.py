"""Splits held whole as tensors on the training device and batched by index.

No per-sample Python and no worker processes: for in-memory data, slicing one tensor is
the fastest loader there is, on CPU and GPU alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

from ablate.data.prepare import Prepared, load
from ablate.data.translate import resize_images, shift_images


class IndexBatches:
    """Batches of (x, y) cut from whole-split tensors; reshuffled each pass when `shuffle`.
    `scramble` (with `shuffle`) permutes each batch's labels among its examples anew at
    every step: the bug of shuffling images and labels apart, which no net can fit (the
    negative control of question T1)."""

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        scramble: bool = False,
    ) -> None:
        if scramble and not shuffle:
            raise ValueError("scrambled labels are for training batches, which shuffle")
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.scramble = scramble
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.x.device)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                if self.scramble:
                    labels = torch.randperm(len(idx), generator=self.generator).to(idx.device)
                    yield self.x[idx], self.y[idx[labels]]
                else:
                    yield self.x[idx], self.y[idx]
        else:
            for start in range(0, n, self.batch_size):
                yield (
                    self.x[start : start + self.batch_size],
                    self.y[start : start + self.batch_size],
                )


def preprocess(x: np.ndarray, train: np.ndarray, mode: str) -> np.ndarray:
    """uint8 NHWC -> float32 NCHW in [0, 1], then centred/standardised per channel with
    statistics of the training split alone (so no test information leaks in). `shift` moves
    raw inputs to [1, 2]: the input mean amplified, to test what a non-zero mean costs."""
    images = x.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    if mode == "raw":
        return images
    if mode == "shift":
        return images + 1.0
    mean = images[train].mean(axis=(0, 2, 3), keepdims=True)
    images -= mean
    if mode == "standardize":
        images /= images[train].std(axis=(0, 2, 3), keepdims=True) + 1e-6
    return images


class TensorDataModule(pl.LightningDataModule):
    """Train/val/test splits of one prepared dataset, preprocessed once, kept as tensors."""

    def __init__(self, cfg: Any, seed: int = 0, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.cfg, self.seed, self.device = cfg, seed, torch.device(device)
        self.prepared: Prepared | None = None
        self.tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.splits: dict[str, np.ndarray] = {}
        self.background = torch.zeros(1, 1, 1)  # per channel, set by `setup`

    def setup(self, stage: str | None = None) -> None:
        if self.tensors:
            return
        data = self.prepared = load(self.cfg)
        splits = dict(data.splits)
        if self.cfg.train_limit:
            splits["train"] = splits["train"][: self.cfg.train_limit]
        if self.cfg.folds:  # cross-validation: hold out one fold of the training split
            chunks = np.array_split(splits["train"], self.cfg.folds)
            splits["val"] = chunks[self.cfg.fold]
            splits["train"] = np.concatenate(
                [c for i, c in enumerate(chunks) if i != self.cfg.fold]
            )
        used = np.concatenate(list(splits.values()))
        moved = self._moved(data.x[used])
        # One blank image appended after the splits (outside the training statistics): what
        # a background pixel becomes after preprocessing, to fill shifted images with.
        blank = np.zeros_like(moved[:1])
        images = preprocess(
            np.concatenate([moved, blank]),
            np.arange(len(splits["train"])),
            self.cfg.preprocessing,
        )
        self.background = torch.from_numpy(images[-1, :, :1, :1].copy()).to(self.device)
        self.splits = splits
        start = 0
        for name, idx in splits.items():
            x = torch.from_numpy(images[start : start + len(idx)])
            y = torch.from_numpy(data.y[idx])
            self.tensors[name] = (x.to(self.device), y.to(self.device))
            start += len(idx)

    def raw(self, split: str) -> torch.Tensor:
        """The split's images before preprocessing: float N x C x H x W in [0, 1]."""
        assert self.prepared is not None
        images = self._moved(self.prepared.x[self.splits[split]]).transpose(0, 3, 1, 2)
        return torch.from_numpy(images.astype(np.float32) / 255.0)

    def _moved(self, images: np.ndarray) -> np.ndarray:
        """Every split's images resampled to `data.image_size`, then moved `data.shift_px`
        of those pixels down and right (question C2)."""
        size = self.cfg.image_size
        if size and size != images.shape[1]:
            images = resize_images(images, size)
        return shift_images(images, self.cfg.shift_px) if self.cfg.shift_px else images

    def to_channels_last(self) -> None:
        """Store image splits NHWC in memory (same shape), the layout GPU convs prefer."""
        for name, (x, y) in self.tensors.items():
            if x.dim() == 4:
                self.tensors[name] = (x.contiguous(memory_format=torch.channels_last), y)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.tensors["train"][0].shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        assert self.prepared is not None
        return len(self.prepared.classes)

    @property
    def data_hash(self) -> str:
        assert self.prepared is not None
        return self.prepared.data_hash

    def _batches(self, split: str, shuffle: bool, scramble: bool = False) -> IndexBatches:
        x, y = self.tensors[split]
        return IndexBatches(x, y, self.cfg.batch_size, shuffle, self.seed, scramble)

    def train_dataloader(self) -> IndexBatches:
        return self._batches("train", shuffle=True, scramble=self.cfg.scramble_labels)

    def val_dataloader(self) -> IndexBatches:
        return self._batches("val", shuffle=False)

    def test_dataloader(self) -> IndexBatches:
        return self._batches("test", shuffle=False)
