"""Where a run's folder lies and what it recorded, readable without Lightning.

Sweep planning asks these of hundreds of runs before it trains anything; importing the
trainer only to read folders cost each sweep stage about 5 s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ablate.config import safe_name
from ablate.training.keys import run_key

FINISHED = ("ok", "diverged")  # statuses a rerun keeps; `failed` and `timeout` are retried


def run_dir(cfg: DictConfig) -> Path:
    return Path(cfg.runs_dir) / safe_name("study.name", cfg.study.name) / run_key(cfg)


def read_result(folder: Path) -> dict[str, Any] | None:
    """The result of a finished run folder, or None if absent or unreadable."""
    try:
        return json.loads((folder / "result.json").read_text())
    except (OSError, ValueError):
        return None
