"""Lightning callbacks that guard a run: the per-run time budget and the early stops."""

from __future__ import annotations

import math
import time
from typing import Any

import pytorch_lightning as pl
import torch


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
    `stalled` when, after `stall_steps` steps, the training loss has never left the
    uniform-guess plateau (every mean of `window` logged losses within `margin` of
    ln(classes)); `converged` when that mean is under `converge_loss`. A run that learned
    and then became unstable is not stalled: it runs on, and may end `diverged`."""

    VAL_IMAGES = 512  # validation images the stall check scores
    LEARNED_MARGIN = 0.1  # above the majority class by this much: the net has learned

    def __init__(
        self, classes: int, stall_steps: int, margin: float, converge_loss: float, window: int = 5
    ) -> None:
        self.plateau = math.log(classes) * (1 - margin)
        self.stall_steps, self.converge_loss, self.window = stall_steps, converge_loss, window
        self.lowest = math.inf  # the lowest windowed mean so far
        self.rows = 0  # history rows already read
        self.losses: list[float] = []  # the logged training losses, read incrementally
        self.reason: str | None = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        history = pl_module.history
        if self.reason or len(history) == self.rows:
            return
        fresh = [row["train_loss"] for row in history[self.rows :] if "train_loss" in row]
        self.rows = len(history)
        if not fresh:
            return
        self.losses += fresh
        losses = self.losses
        if len(losses) < self.window:
            return
        recent = sum(losses[-self.window :]) / self.window
        self.lowest = min(self.lowest, recent)
        step = trainer.global_step
        if (
            self.stall_steps
            and step >= self.stall_steps
            and self.lowest >= self.plateau
            and not self.learned(trainer, pl_module)
        ):
            self.reason = "stalled"
        elif self.converge_loss and recent <= self.converge_loss:
            self.reason = "converged"
        if self.reason:
            trainer.should_stop = True

    def learned(self, trainer: pl.Trainer, pl_module: Any) -> bool:
        """A noisy training loss can sit high while the net already classifies: before
        calling a run stalled, check it does no better than guessing on validation images."""
        tensors = getattr(getattr(trainer, "datamodule", None), "tensors", {})
        if "val" not in tensors or not len(tensors["val"][1]):
            return False
        x, y = (t[: self.VAL_IMAGES] for t in tensors["val"])
        was_training = pl_module.training
        pl_module.eval()
        with torch.no_grad():
            accuracy = (pl_module(x).argmax(1) == y).float().mean().item()
        pl_module.train(was_training)
        majority = torch.bincount(y).max().item() / len(y)
        return accuracy > majority + self.LEARNED_MARGIN
