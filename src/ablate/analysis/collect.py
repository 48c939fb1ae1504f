"""Collect `runs/<study>/<key>/result.json` into one table, one row per run.

A folder whose result cannot be read is reported by path and skipped: one corrupt file
must never cost the whole report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

AXES = [
    "activation",
    "init",
    "norm",
    "norm_position",
    "downsampling",
    "arch",
    "width",
    "depth",
    "stages",
    "bottleneck",
    "init_std",
]
COLUMNS = [
    "study",
    "key",
    "status",
    "seed",
    *AXES,
    "dataset",
    "preprocessing",
    "train_limit",
    "batch_size",
    "optimizer",
    "lr",
    "max_epochs",
    "val_acc",
    "val_loss",
    "best_val_acc",
    "test_acc",
    "test_loss",
    "epochs",
    "steps",
    "diverged_step",
    "wall_time_s",
    "fit_time_s",
    "train_images_per_s",
    "params",
    "flops_per_image",
    "data_hash",
    "error",
    "python",
    "torch",
    "lightning",
    "processor",
    "cpus",
    "torch_threads",
    "cuda",
]


def flatten(result: dict[str, Any]) -> dict[str, Any]:
    """One result.json -> one flat row with every axis a column."""
    cfg = result.get("config", {})
    model, data, optim, trainer = (cfg.get(k, {}) for k in ("model", "data", "optim", "trainer"))
    row = {k: result.get(k) for k in COLUMNS if k in result}
    row.update({axis: model.get(axis) for axis in AXES})
    row.update(
        dataset=data.get("name"),
        preprocessing=data.get("preprocessing"),
        train_limit=data.get("train_limit"),
        batch_size=data.get("batch_size"),
        optimizer=optim.get("name"),
        lr=optim.get("lr"),
        max_epochs=trainer.get("max_epochs"),
        **result.get("versions", {}),
        **result.get("hardware", {}),
    )
    row.pop("machine", None)
    return row


def collect(runs_dir: str | Path, studies: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """All readable runs of `studies`, and a line per folder that could not be read."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for study in studies:
        folder = Path(runs_dir) / study
        if not folder.is_dir():
            continue
        for run in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            path = run / "result.json"
            try:
                result = json.loads(path.read_text())
                if not isinstance(result, dict) or "status" not in result:
                    raise ValueError("no 'status' field")
            except FileNotFoundError:
                problems.append(f"{path}: missing (run never finished)")
                continue
            except (OSError, ValueError) as err:
                problems.append(f"{path}: unreadable ({type(err).__name__}: {err})")
                continue
            rows.append({**flatten(result), "study": study})
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["study", "key"], ignore_index=True), problems
