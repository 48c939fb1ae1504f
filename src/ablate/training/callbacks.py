"""Lightning callbacks that guard a run: the per-run time budget."""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl


class RunTimeout(RuntimeError):
    """The run passed its wall-clock budget; recorded as `timeout`, the sweep goes on."""


class TimeBudget(pl.Callback):
    """Stop a run that passes `limit_s` seconds of training, checked after every batch."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.start = time.monotonic()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start = time.monotonic()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        if time.monotonic() - self.start > self.limit_s:
            raise RunTimeout(f"over the per-run limit of {self.limit_s:g} s")
