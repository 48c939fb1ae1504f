"""Lightning callbacks that guard a run: the per-run time budget and the early stops."""

from __future__ import annotations

import math
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


class EarlyStop(pl.Callback):
    """Stop a run whose outcome is already clear, and say why, so dead cells cost little:
    `stalled` when the training loss is still within `margin` of ln(classes) (a uniform
    guess) after `stall_steps` steps; `converged` when it is under `converge_loss`.
    Judged on the mean of the last `window` logged losses, so one noisy batch decides
    nothing."""

    def __init__(
        self, classes: int, stall_steps: int, margin: float, converge_loss: float, window: int = 5
    ) -> None:
        self.uniform = math.log(classes)
        self.stall_steps, self.margin, self.converge_loss = stall_steps, margin, converge_loss
        self.window = window
        self.reason: str | None = None
        self.step: int | None = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        losses = [row["train_loss"] for row in pl_module.history if "train_loss" in row]
        if self.reason or len(losses) < self.window:
            return
        recent = sum(losses[-self.window :]) / self.window
        step = trainer.global_step
        if (
            self.stall_steps
            and step >= self.stall_steps
            and recent >= self.uniform * (1 - self.margin)
        ):
            self.reason = "stalled"
        elif self.converge_loss and recent <= self.converge_loss:
            self.reason = "converged"
        if self.reason:
            self.step = step
            trainer.should_stop = True
