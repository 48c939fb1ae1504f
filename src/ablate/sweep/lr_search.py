"""Each arm at a learning rate that suits it: a small per-arm rate search the grid reuses.

A study with `study.tune.lr` first trains every arm (each combination of the `tune.by`
axes) at every searched rate, on seed 0, at the `tune.at` settings. Each arm keeps the
rate with the best validation accuracy (a diverged run scores -1; ties go to the lower
rate), written to `runs/<study>/tuned_lr.json`. The grid then sets `optim.lr: ${tuned_lr:}`,
which resolves, per job, to its arm's rate: the run key holds the resolved rate, so a new
search result retrains exactly the arms whose rate moved. The search run that matches a
grid job (seed 0, the `at` cell, the chosen rate) is the same run: it trains once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablate.errors import ConfigError

TABLE = "tuned_lr.json"


def arm_of(cfg: DictConfig, by: list[str]) -> dict[str, Any]:
    return {axis: OmegaConf.select(cfg, axis) for axis in by}


def arm_id(arm: dict[str, Any]) -> str:
    return ",".join(f"{axis}={arm[axis]}" for axis in sorted(arm))


def table_path(runs_dir: str | Path, study: str) -> Path:
    return Path(runs_dir) / study / TABLE


def tuned_lr(*, _root_: DictConfig) -> float:
    """The resolver behind `${tuned_lr:}`: this job's arm's searched rate."""
    study, by = _root_.study.name, list(_root_.study.tune.by)
    path = table_path(_root_.runs_dir, study)
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigError(
            f"optim.lr is tuned per arm but {path} is missing: run the study's sweep "
            f"(`python pipelines/sweep.py {study}`), whose search phase writes it"
        ) from None
    arm = arm_id(arm_of(_root_, by))
    if arm not in table["arms"]:
        raise ConfigError(f"no tuned rate for arm {arm} in {path}; rerun the study's sweep")
    return float(table["arms"][arm]["lr"])


def register_resolver() -> None:
    if not OmegaConf.has_resolver("tuned_lr"):
        OmegaConf.register_new_resolver("tuned_lr", tuned_lr)


def choose(scores: dict[float, float | None]) -> float:
    """The best-validated rate; a run without a score (diverged, failed) ranks last."""
    return max(sorted(scores), key=lambda lr: (-1.0 if scores[lr] is None else scores[lr], -lr))


def build_table(
    levels: list[float], by: list[str], jobs: list[tuple[DictConfig, dict[str, Any] | None]]
) -> dict:
    """The search's outcome from its jobs (config, finished result or None): per arm, every
    rate's validation accuracy, the chosen rate, and whether it sits at an edge of the
    searched range. The arm comes from the job's config, not the result's: jobs that differ
    only in a moot field (a linear model's activation) share one run and its result."""
    arms: dict[str, dict[str, Any]] = {}
    for cfg, result in jobs:
        entry = arms.setdefault(arm_id(arm_of(cfg, by)), {"scores": {}})
        ok = result is not None and result.get("status") == "ok"
        entry["scores"][float(cfg.optim.lr)] = result.get("val_acc") if ok else None
    for entry in arms.values():
        entry["lr"] = choose(entry["scores"])
        entry["edge"] = len(levels) > 1 and entry["lr"] in (min(levels), max(levels))
        entry["scores"] = {f"{lr:g}": score for lr, score in sorted(entry["scores"].items())}
    return {"levels": sorted(levels), "by": by, "arms": dict(sorted(arms.items()))}
