"""One progress line per run of a sweep: n/total, key, the axis values, status, accuracy,
seconds and an ETA. Sweeps set the total and start time in the environment, so the line is
right in every worker process of a parallel launcher too."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from omegaconf import DictConfig

TOTAL_ENV = "ABLATE_SWEEP_TOTAL"
START_ENV = "ABLATE_SWEEP_START"
AXES = ("activation", "init", "norm", "downsampling", "arch", "depth")


def job_number() -> int | None:
    """This job's 0-based number in a Hydra multirun, or None for a single run."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    return int(hydra.job.num) if hydra.mode == RunMode.MULTIRUN else None


def line(cfg: DictConfig, result: dict[str, Any], now: float | None = None) -> str:
    num, total = job_number(), os.environ.get(TOTAL_ENV)
    counter = f"[{num + 1}/{total or '?'}] " if num is not None else ""
    cell = " ".join(f"{a}={cfg.model[a]}" for a in AXES) + f" lr={cfg.optim.lr:g} seed={cfg.seed}"
    if result.get("skipped"):
        why = "another process is training it" if result["status"] == "busy" else "finished"
        return f"{counter}skip {cfg.study.name}/{result['key']} ({why})"
    acc = result.get("test_acc")
    text = (
        f"{counter}{result['status']} {cfg.study.name}/{result['key']} {cell} "
        f"acc={'—' if acc is None else f'{acc:.3f}'} {result['wall_time_s']:.1f}s"
    )
    start = os.environ.get(START_ENV)
    if num is not None and total and start:
        elapsed = (now or time.time()) - float(start)
        left = elapsed / (num + 1) * (int(total) - num - 1)
        text += f" eta {left / 60:.1f} min"
    return text


def report(cfg: DictConfig, result: dict[str, Any]) -> None:
    if not cfg.quiet:
        print(line(cfg, result), file=sys.stderr, flush=True)
