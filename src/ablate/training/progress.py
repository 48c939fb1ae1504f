"""One progress line per run of a sweep: n/total, key, the axis values, status, accuracy,
seconds and an ETA. A sweep writes each phase's total and start time to a small file whose
path it puts in the environment before any worker starts, so the line is right in every
worker process of a parallel launcher, and workers can be kept from one phase to the next."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

PHASE_ENV = "ABLATE_SWEEP_PHASE"  # path of a JSON file: {"total": jobs, "start": epoch s}
AXES = ("activation", "init", "norm", "downsampling", "arch", "depth")


def job_number() -> int | None:
    """This job's 0-based number in a Hydra multirun, or None for a single run."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    return int(hydra.job.num) if hydra.mode == RunMode.MULTIRUN else None


def write_phase(path: Path, total: int, start: float | None = None) -> None:
    """Set the total and start time that progress lines read (one sweep phase)."""
    path.write_text(json.dumps({"total": total, "start": time.time() if start is None else start}))


def phase() -> tuple[int | None, float | None]:
    """The current phase's total and start time, or (None, None) outside a sweep."""
    path = os.environ.get(PHASE_ENV)
    try:
        data = json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError):  # a phase file being rewritten: no ETA on this line
        data = {}
    return data.get("total"), data.get("start")


def line(cfg: DictConfig, result: dict[str, Any], now: float | None = None) -> str:
    num, (total, start) = job_number(), phase()
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
    if num is not None and total and start:
        elapsed = (now or time.time()) - float(start)
        left = elapsed / (num + 1) * (int(total) - num - 1)
        text += f" eta {left / 60:.1f} min"
    return text


def report(cfg: DictConfig, result: dict[str, Any]) -> None:
    if not cfg.quiet:
        print(line(cfg, result), file=sys.stderr, flush=True)
