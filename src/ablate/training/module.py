"""The LightningModule shared by every study: cross-entropy classification."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn


class Diverged(RuntimeError):
    """The training loss became NaN or inf: no later step can recover, so the run ends here,
    as a result, not a crash. A finite spike, however large, does not end a run: a loss 20x
    its first value in warm-up often comes back, and stopping it would decide the outcome."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(f"loss {loss} at step {step}")
        self.step, self.loss = step, loss


class Classifier(pl.LightningModule):
    def __init__(self, net: nn.Module, optim: Any, history_every: int):
        super().__init__()
        self.net, self.optim, self.history_every = net, optim, history_every
        self.history: list[dict[str, float]] = []  # train-loss points and per-epoch val rows
        self._eval: dict[str, list[float]] = {}
        self.last_eval: dict[str, float] = {}  # exact python floats of the latest evaluation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        value = loss.item()
        if not math.isfinite(value):
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
        predicted = logits.argmax(1)
        sums[1] += (predicted == y).sum().item()
        sums[2] += len(y)
        self._eval.setdefault("classes", set()).update(predicted.unique().tolist())

    def _eval_end(self, prefix: str) -> dict[str, float]:
        loss, correct, n = self._eval.pop("sums", [math.nan, 0.0, 1.0])
        classes = self._eval.pop("classes", set())
        metrics = {f"{prefix}_loss": loss / n, f"{prefix}_acc": correct / n}
        # A net that predicts one class for every input has collapsed to the floor.
        metrics[f"{prefix}_classes_predicted"] = float(len(classes))
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

    def configure_optimizers(self) -> dict[str, Any]:
        o = self.optim
        if o.name == "sgd":
            optimizer: torch.optim.Optimizer = torch.optim.SGD(
                self.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay
            )
        else:
            optimizer = torch.optim.Adam(self.parameters(), lr=o.lr, weight_decay=o.weight_decay)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        factor = schedule(o.schedule, total, o.warmup)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def schedule(name: str, total: int, warmup: float) -> Callable[[int], float]:
    """The learning-rate multiplier at each step: constant, or linear warm-up over
    `warmup` x `total` steps then cosine decay to 0 at `total`."""
    if name == "constant":
        return lambda step: 1.0
    ramp = max(round(warmup * total), 1)

    def factor(step: int) -> float:
        if step < ramp:
            return (step + 1) / ramp
        progress = min((step - ramp) / max(total - ramp, 1), 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor
