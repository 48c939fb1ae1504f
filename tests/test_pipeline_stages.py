"""dvc.yaml: a misspelled study fails in the first stage, and each profile's outputs have a
folder of their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from ablate.sweep.params import STUDIES

from .conftest import REPO

STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _outputs(stage: dict) -> list[str]:
    entries = [*stage.get("outs", []), *stage.get("metrics", [])]
    return [e if isinstance(e, str) else next(iter(e)) for e in entries]


def test_the_first_stage_checks_the_params_that_name_files():
    # DVC reruns `data` when these change, so its params check runs before any sweep
    # stage looks for conf/study/<name>.yaml.
    assert {"profile", "studies"} <= set(STAGES["data"]["params"])


def test_every_result_and_report_lies_under_the_profile():
    paths = [p for s in STAGES.values() for p in _outputs(s.get("do", s))]
    shared = [p for p in paths if p.startswith(("results/", "reports/"))]
    assert shared and all(p.split("/")[1] == "${profile}" for p in shared), shared


def test_data_stage_names_a_misspelled_study_and_the_valid_ones(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("profile: smoke\nstudies: [main, mycifar]\n")
    proc = subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "data.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "study 'mycifar' is not valid" in proc.stderr
    assert ", ".join(STUDIES) in proc.stderr
