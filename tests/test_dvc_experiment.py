"""`dvc exp run -S profile=smoke` as the README documents it, in a temporary git copy: the
experiment trains, its metrics appear in `dvc exp show`, and the cpu profile's results stay."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from .repo_copy import copy_repo, env

AUTHOR = {"GIT_AUTHOR_NAME": "ablate", "GIT_AUTHOR_EMAIL": "ablate@example.invalid"}
AUTHOR |= {"GIT_COMMITTER_NAME": "ablate", "GIT_COMMITTER_EMAIL": "ablate@example.invalid"}
CPU_OUTPUTS = ("results/cpu/runs.csv", "reports/cpu/report.md", "reports/cpu/figures/old.png")


def run(root: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        cmd, cwd=root, env={**env(root), **AUTHOR}, capture_output=True, text=True, timeout=1500
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = copy_repo(tmp_path_factory.mktemp("exp") / "repo")  # the default cpu profile
    for path in CPU_OUTPUTS:  # stand-ins for the committed cpu results
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("the cpu profile's\n")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", "baseline")
    # one tiny study keeps it to seconds: the 3 arms of C1's bottleneck at one smoke seed
    proc = run(root, "dvc", "exp", "run", "-S", "profile=smoke", "-S", "studies=[bottleneck]")
    name = re.search(r"Ran experiment\(s\): (\S+)", proc.stdout)
    assert name, proc.stdout[-2000:]
    return root, name.group(1)


def test_experiment_metrics_appear_in_exp_show(experiment: tuple[Path, str]):
    root, name = experiment
    table = pd.read_csv(io.StringIO(run(root, "dvc", "exp", "show", "--csv").stdout))
    row = table[table["Experiment"] == name].iloc[0]
    runs = pd.read_csv(root / "results" / "smoke" / "runs.csv")  # the experiment's own folder
    grid = runs[runs["role"] == "grid"]  # beside the study's rate-search runs
    assert set(runs["study"]) == {"bottleneck"} and len(grid) == 3
    assert row["profile"] == "smoke" and int(row["run_count"]) == len(runs)
    assert float(row["ok_share"]) == pytest.approx((runs["status"] == "ok").mean(), 1e-3)
    studies = json.loads((root / "results" / "smoke" / "studies.json").read_text())
    assert studies["bottleneck"]["mean_test_acc"] == pytest.approx(grid["test_acc"].mean(), 1e-3)
    baseline = table[(table["typ"] == "baseline") & (table["rev"] != "workspace")]
    assert list(baseline["profile"]) == ["cpu"]  # the committed params are untouched


def test_another_profile_leaves_the_committed_results_alone(experiment: tuple[Path, str]):
    root, _ = experiment
    for path in CPU_OUTPUTS:
        assert (root / path).read_text() == "the cpu profile's\n"
