"""The probe callback: per-layer statistics at init, at the end, and every `every` steps.

Probes run at chosen steps only, never inside every step of the hot loop. Results go to
`probes.json` in the run folder, and a few scalar summaries into `result.json`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytorch_lightning as pl

from ablate.probes.layers import distribution_shift, layer_stats, smoothness

# Smoothness step sizes, absolute: the same for every run, so arms trained at different
# learning rates are probed along the same distances.
STEP_SIZES = (0.01, 0.03, 0.1, 0.3)


class Probes(pl.Callback):
    def __init__(self, cfg: Any, lr: float) -> None:
        self.cfg, self.lr = cfg, lr
        self.points: list[dict[str, Any]] = []

    def _batch(self, trainer: pl.Trainer):
        x, y = trainer.datamodule.tensors["val"]
        return x[: self.cfg.batch], y[: self.cfg.batch]

    def _probe(self, trainer: pl.Trainer, module: pl.LightningModule, when: str) -> None:
        x, y = self._batch(trainer)
        net = module.net
        point = {"step": trainer.global_step, "when": when, **layer_stats(net, x, y)}
        if self.cfg.smoothness:
            point["smooth"] = smoothness(net, x, y, list(STEP_SIZES))
        if self.cfg.drift:
            # mid-run only: the warm-up and the decay to 0 make the first and last steps tiny
            optimizers = trainer.optimizers if when == "step" else []
            point["drift"] = distribution_shift(net, x, y, optimizers[0] if optimizers else None)
        self.points.append(point)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._probe(trainer, pl_module, "init")

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        every = self.cfg.every
        if every and trainer.global_step % every == 0:
            self._probe(trainer, pl_module, "step")

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._probe(trainer, pl_module, "end")


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def summarise(points: list[dict[str, Any]]) -> dict[str, float]:
    """The scalar probe summaries that go into result.json and the run table."""
    out: dict[str, float] = {}
    for point in points:
        if point["when"] == "step":
            continue
        tag = point["when"]
        acts, grads = point["activations"], point["gradients"]
        if acts:
            out[f"act_std_first_{tag}"] = acts[0]["act_std"]
            out[f"act_std_last_{tag}"] = acts[-1]["act_std"]
            out[f"sat_frac_{tag}"] = _mean([a["sat_frac"] for a in acts])
            out[f"dead_frac_{tag}"] = _mean([a["dead_frac"] for a in acts])
            out[f"zero_frac_{tag}"] = _mean([a["zero_frac"] for a in acts])
        if grads:
            out[f"grad_norm_first_{tag}"] = grads[0]["grad_norm"]
            out[f"grad_norm_last_{tag}"] = grads[-1]["grad_norm"]
        norms = point.get("norms", [])
        if norms:
            out[f"bn_out_mean_{tag}"] = _mean([abs(n["bn_mean"]) for n in norms])
            out[f"bn_out_std_{tag}"] = _mean([n["bn_std"] for n in norms])
            out[f"bn_out_skew_{tag}"] = _mean([n.get("bn_skew", math.nan) for n in norms])
            out[f"bn_out_kurt_{tag}"] = _mean([n.get("bn_kurt", math.nan) for n in norms])
        if acts:
            out[f"slope_mean_{tag}"] = _mean([a.get("mean_slope", float("nan")) for a in acts])
            out[f"act_grad_first_{tag}"] = acts[0].get("act_grad_norm", float("nan"))
            out[f"act_grad_last_{tag}"] = acts[-1].get("act_grad_norm", float("nan"))
        out[f"sign_agreement_{tag}"] = point["sign_agreement"]
        out["act_layers"] = len(acts)
    smooth = [p["smooth"] for p in points if "smooth" in p]
    if smooth:
        out["smooth_beta"] = _mean([s["beta"] for s in smooth])
        out["smooth_beta_scaled"] = _mean([s.get("beta_scaled", float("nan")) for s in smooth])
        out["smooth_loss_range"] = _mean([s["loss_range"] for s in smooth])
        out["smooth_grad_norm"] = _mean([s["grad_norm"] for s in smooth])
    drifts = [p["drift"] for p in points if "drift" in p]
    for name in drifts[0] if drifts else ():
        out[name] = _mean([d[name] for d in drifts])  # the step drift: mid-run points only
    return out
