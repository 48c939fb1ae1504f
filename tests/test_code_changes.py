"""Results follow the code: a change that can move the numbers retrains, one that cannot
(report, docs) retrains nothing, `reuse_runs` keeps runs on purpose and the report says so,
and the same runs always give the same report bytes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ablate.training.fingerprint import code_fingerprint, source_files

from .repo_copy import dvc
from .test_pipeline_e2e import project  # noqa: F401  (the temp-copy fixture)

STUDY = "stride_fit"  # two runs on the smoke profile


def results(root: Path) -> dict[str, dict]:
    return {
        p.parent.name: json.loads(p.read_text())
        for p in (root / "runs" / STUDY).glob("*/result.json")
    }


def set_params(root: Path, **values: object) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params.update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def repro(root: Path) -> str:
    proc = dvc(root, "repro")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def header_rows(root: Path) -> str:
    report = (root / "reports" / "smoke" / "report.md").read_text()
    return report.split("## Contents")[0]


def test_code_changes_retrain_and_report_changes_do_not(project: Path):  # noqa: F811
    set_params(project, studies=[STUDY], reuse_runs=False)
    repro(project)
    first = results(project)
    assert len(first) == 2 and len({r["code"] for r in first.values()}) == 1
    code = next(iter(first.values()))["code"]
    assert f"`{code}` at commit" in header_rows(project)

    # A report module changes: the report is rewritten, no run trains.
    render = project / "src" / "ablate" / "report" / "render.py"
    render.write_text(render.read_text() + "\n# a comment in the report code\n")
    repro(project)
    assert results(project) == first
    assert "mixed" not in header_rows(project)

    # A comment in a model file, with reuse_runs: the runs are reused under new keys.
    models = project / "src" / "ablate" / "models" / "activations.py"
    models.write_text(models.read_text() + "\n# a comment that changes no number\n")
    set_params(project, reuse_runs=True)
    repro(project)
    reused = {k: r for k, r in results(project).items() if k not in first}
    assert len(reused) == 2
    assert {r["reused_from"] for r in reused.values()} == set(first)
    assert {r["code"] for r in reused.values()} == {code}  # they keep their own fingerprint
    assert all(
        r["wall_time_s"] in {f["wall_time_s"] for f in first.values()} for r in reused.values()
    )
    header = header_rows(project)
    assert "code versions mixed" in header and "reused by `reuse_runs: true`" in header
    assert f"`{code}`" in header

    # relu becomes LeakyReLU(0.3), reuse off: every run trains again, with the new code.
    text = models.read_text()
    relu = 'ACTIVATIONS.register("relu")(nn.ReLU)'
    assert relu in text
    models.write_text(text.replace(relu, 'ACTIVATIONS.register("relu")(lambda: nn.LeakyReLU(0.3))'))
    set_params(project, reuse_runs=False)
    repro(project)
    fresh = {k: r for k, r in results(project).items() if k not in first and k not in reused}
    assert len(fresh) == 2
    assert all(r["code"] != code and "reused_from" not in r for r in fresh.values())
    runs = pd.read_csv(project / "results" / "smoke" / "runs.csv")
    assert set(runs[runs["study"] == STUDY]["key"]) == set(fresh)
    assert "mixed" not in header_rows(project)


def test_same_runs_give_the_same_report_bytes(project: Path):  # noqa: F811
    set_params(project, studies=[STUDY], reuse_runs=False)
    repro(project)
    report = project / "reports" / "smoke" / "report.md"
    before = report.read_text()
    for name in ("runs.csv", "probes.csv", "history.csv"):
        path = project / "results" / "smoke" / name
        table = pd.read_csv(path)
        table.sample(frac=1.0, random_state=7).to_csv(path, index=False)
    proc = subprocess.run(
        [sys.executable, "pipelines/report.py"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    stamp = re.compile(r"^\| generated \|.*$", re.M)
    assert stamp.sub("", report.read_text()) == stamp.sub("", before)


def test_fingerprint_follows_scoped_source_only(tmp_path: Path):
    package = tmp_path / "ablate"
    for rel in ("models/a.py", "training/run.py", "training/progress.py", "report/r.py"):
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text("x = 1\n")
    names = [f.relative_to(package).as_posix() for f in source_files(package)]
    assert names == ["models/a.py", "training/run.py"]

    def fingerprint() -> str:
        code_fingerprint.cache_clear()
        return code_fingerprint("cpu", package)

    base = fingerprint()
    assert code_fingerprint("cuda", package) != base  # the device is part of it
    (package / "report" / "r.py").write_text("x = 2\n")
    (package / "training" / "progress.py").write_text("x = 2\n")
    assert fingerprint() == base
    (package / "models" / "a.py").write_text("x = 2\n")
    assert fingerprint() != base
    (package / "models" / "b.py").write_text("")
    changed = fingerprint()
    (package / "models" / "b.py").unlink()
    assert fingerprint() != changed
    code_fingerprint.cache_clear()


@pytest.mark.parametrize("bad", ["yes", 1])
def test_reuse_runs_must_be_a_boolean(tmp_path: Path, bad: object):
    from ablate.errors import ConfigError
    from ablate.sweep.params import load_params

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"reuse_runs": bad}))
    with pytest.raises(ConfigError, match="reuse_runs="):
        load_params(path)
