"""The same smoke grid through Hydra's basic, joblib and submitit_local launchers gives the
same run keys and the same metrics: runs are keyed and seeded, not launcher-dependent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ablate.sweep import study_grid

from .conftest import REPO

GRID = ["profile=smoke", "study=main", "trainer.threads=1", "quiet=true"]
# The pipeline applies the profile's grid; a hand multirun passes it on the command line.
SMOKE = [f"{k}={v}" for k, v in study_grid("smoke", "main", None).items()]


def sweep(root: Path, data_root: Path, *launcher: str) -> dict[str, dict]:
    cmd = [
        sys.executable,
        "-m",
        "ablate.train",
        "-m",
        *GRID,
        *SMOKE,
        f"runs_dir={root}",
        f"data.root={data_root}",
        *launcher,
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {p.parent.name: json.loads(p.read_text()) for p in root.glob("main/*/result.json")}


@pytest.fixture(scope="module")
def basic(tmp_path_factory, data_root) -> dict[str, dict]:
    return sweep(tmp_path_factory.mktemp("basic"), data_root)


@pytest.mark.parametrize(
    "launcher",
    [
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        [
            "hydra/launcher=submitit_local",
            "hydra.launcher.tasks_per_node=1",
            "hydra.launcher.timeout_min=10",
        ],
    ],
    ids=["joblib", "submitit_local"],
)
def test_launcher_matches_basic(basic, tmp_path: Path, data_root: Path, launcher: list[str]):
    other = sweep(tmp_path, data_root, *launcher)
    assert set(other) == set(basic) and len(basic) == 4
    for key, result in other.items():
        for metric in ("test_acc", "test_loss", "val_acc", "steps"):
            assert result[metric] == basic[key][metric], (key, metric)


def test_slurm_launcher_config_composes():
    from ablate.config import compose

    cfg = compose(
        ["study=main", "hydra/launcher=cluster_slurm", "hydra.launcher.partition=gpu"],
        with_hydra=True,
    )
    launcher = cfg.hydra.launcher
    assert launcher.partition == "gpu" and launcher.gpus_per_node == 1
    assert "submitit" in launcher._target_.lower()
