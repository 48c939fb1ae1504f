"""The LightningModule shared by every study: cross-entropy classification."""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn


class Diverged(RuntimeError):
    """The training loss became NaN/inf or exploded; the run ends as a result, not a crash."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(f"loss {loss} at step {step}")
        self.step, self.loss = step, loss


class Classifier(pl.LightningModule):
    def __init__(self, net: nn.Module, optim: Any, diverge_factor: float, history_every: int):
        super().__init__()
        self.net, self.optim = net, optim
        self.diverge_factor, self.history_every = diverge_factor, history_every
        self.first_loss: float | None = None
        self.history: list[dict[str, float]] = []  # train-loss points and per-epoch val rows
        self._eval: dict[str, list[float]] = {}
        self.last_eval: dict[str, float] = {}  # exact python floats of the latest evaluation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        value = loss.item()
        if self.first_loss is None:
            self.first_loss = value
        if not math.isfinite(value) or value > self.diverge_factor * max(self.first_loss, 1e-3):
            raise Diverged(self.global_step, value)
        if self.global_step % self.history_every == 0:
            self.log("train_loss", value, on_step=True, on_epoch=False)
            self.history.append(
                {"step": self.global_step, "epoch": self.current_epoch, "train_loss": value}
            )
        return loss

    def _eval_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        x, y = batch
        logits = self.net(x)
        sums = self._eval.setdefault("sums", [0.0, 0.0, 0.0])
        sums[0] += F.cross_entropy(logits, y, reduction="sum").item()
        sums[1] += (logits.argmax(1) == y).sum().item()
        sums[2] += len(y)

    def _eval_end(self, prefix: str) -> dict[str, float]:
        loss, correct, n = self._eval.pop("sums", [math.nan, 0.0, 1.0])
        metrics = {f"{prefix}_loss": loss / n, f"{prefix}_acc": correct / n}
        self.last_eval = metrics
        self.log_dict(metrics)
        return metrics

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch)

    def on_validation_epoch_end(self) -> None:
        metrics = self._eval_end("val")
        self.history.append({"step": self.global_step, "epoch": self.current_epoch, **metrics})

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch)

    def on_test_epoch_end(self) -> None:
        self._eval_end("test")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        o = self.optim
        if o.name == "sgd":
            return torch.optim.SGD(
                self.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay
            )
        return torch.optim.Adam(self.parameters(), lr=o.lr, weight_decay=o.weight_decay)
