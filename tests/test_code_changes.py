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

from ablate.training.fingerprint import clear_cache, code_fingerprint, scan, source_files
from ablate.training.keys import CHOICE_FIELDS, code_choices

from .repo_copy import dvc
from .test_pipeline_e2e import project  # noqa: F401  (the temp-copy fixture)

STUDY = "stride_fit"  # four runs on the smoke profile: 2 stems x 2 shifts
RUNS = 4


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
    return report.split("## Summary")[0]


def test_code_changes_retrain_and_report_changes_do_not(project: Path):  # noqa: F811
    set_params(project, studies=[STUDY], reuse_runs=False)
    repro(project)
    first = results(project)
    assert len(first) == RUNS and len({r["code"] for r in first.values()}) == 1
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
    assert len(reused) == RUNS
    assert {r["reused_from"] for r in reused.values()} == set(first)
    assert {r["code"] for r in reused.values()} == {code}  # they keep their own fingerprint
    assert all(
        r["wall_time_s"] in {f["wall_time_s"] for f in first.values()} for r in reused.values()
    )
    header = header_rows(project)
    assert "code versions mixed" in header and "reused by `reuse_runs: true`" in header
    assert f"`{code}`" in header

    # A new activation that no run uses: every key stays, nothing trains.
    text = models.read_text()
    relu = 'ACTIVATIONS.register("relu")(nn.ReLU)'
    models.write_text(text.replace(relu, f'{relu}\nACTIVATIONS.register("swish")(nn.SiLU)'))
    repro(project)
    assert set(results(project)) == set(first) | set(reused)

    # relu becomes LeakyReLU(0.3), reuse off: every run trains again, with the new code.
    text = models.read_text()
    relu = 'ACTIVATIONS.register("relu")(nn.ReLU)'
    assert relu in text
    models.write_text(text.replace(relu, 'ACTIVATIONS.register("relu")(lambda: nn.LeakyReLU(0.3))'))
    set_params(project, reuse_runs=False)
    repro(project)
    fresh = {k: r for k, r in results(project).items() if k not in first and k not in reused}
    assert len(fresh) == RUNS
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
    (package / "registry.py").write_text("class Registry: ...\n")
    names = [f.relative_to(package).as_posix() for f in source_files(package)]
    assert names == ["models/a.py", "registry.py", "training/run.py"]

    def fingerprint() -> str:
        clear_cache()
        return code_fingerprint("cpu", package=package)

    base = fingerprint()
    assert code_fingerprint("cuda", package=package) != base  # the device is part of it
    (package / "report" / "r.py").write_text("x = 2\n")
    (package / "training" / "progress.py").write_text("x = 2\n")
    assert fingerprint() == base
    (package / "models" / "a.py").write_text("x = 2\n")
    assert fingerprint() != base
    (package / "models" / "b.py").write_text("")
    changed = fingerprint()
    (package / "models" / "b.py").unlink()
    assert fingerprint() != changed
    (package / "registry.py").write_text("class Registry: pass\n")  # the mechanism is shared
    assert fingerprint() != changed
    clear_cache()


ACTS = """from torch import nn
from ablate.registry import Registry

ACTS = Registry("activation")
SCALE = 1.0  # module-level code: shared


def _slope(x):
    return x


class Scaled(nn.Module):
    def forward(self, x):
        return _slope(x) * SCALE


ACTS.register("relu")(nn.ReLU)
ACTS.register("scaled")(Scaled)


@ACTS.register("tanh")
def tanh():
    return nn.Tanh()


def used_by_shared():
    return 1


def build(name):
    return used_by_shared() and ACTS[name]()
"""


def test_fingerprint_covers_only_the_entries_a_run_selects(tmp_path: Path):
    package = tmp_path / "ablate"
    (package / "models").mkdir(parents=True)
    (package / "training").mkdir()
    acts = package / "models" / "acts.py"
    acts.write_text(ACTS)
    (package / "training" / "loop.py").write_text("def fit():\n    return 1\n")

    def keys() -> dict[str, str]:
        clear_cache()
        return {
            name: code_fingerprint("cpu", {"activation": name}, package)
            for name in ("relu", "scaled", "tanh")
        } | {"all": code_fingerprint("cpu", None, package)}

    def edit(path: Path, old: str, new: str) -> dict[str, str]:
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))
        return keys()

    base = keys()
    assert len(set(base.values())) == 4
    # A new entry (with blank lines around it) leaves every run that does not use it valid.
    added = edit(acts, "\n\n@ACTS", '\n\n\nACTS.register("swish")(nn.SiLU)\n\n\n@ACTS')
    assert {k: added[k] for k in ("relu", "scaled", "tanh")} == {
        k: base[k] for k in ("relu", "scaled", "tanh")
    }
    assert added["all"] != base["all"]  # a run that names no activation hashes them all
    # An entry's edit, and an edit of a helper only entries use, change only their runs.
    after = edit(acts, "(nn.ReLU)", "(nn.ELU)")
    assert after["relu"] != added["relu"] and after["tanh"] == added["tanh"]
    before = after
    after = edit(acts, "return x\n", "return 2 * x\n")  # _slope, reached through Scaled
    assert after["scaled"] != before["scaled"]
    assert (after["relu"], after["tanh"]) == (before["relu"], before["tanh"])
    # Shared code: module-level code, a helper that shared code uses, the training loop.
    for path, old, new in (
        (acts, "SCALE = 1.0", "SCALE = 2.0"),
        (acts, "return 1\n", "return 2\n"),
        (package / "training" / "loop.py", "return 1", "return 0"),
    ):
        before, after = after, edit(path, old, new)
        assert all(after[k] != before[k] for k in before), old
    # A helper another module imports is shared too: its edit changes every key.
    loop = package / "training" / "loop.py"
    loop.write_text("from ablate.models.acts import _slope\n" + loop.read_text())
    before, after = keys(), edit(acts, "return 2 * x\n", "return 3 * x\n")
    assert all(after[k] != before[k] for k in before)
    clear_cache()


def test_every_registry_in_scope_is_chosen_by_a_config_field():
    kinds = scan().kinds()
    assert kinds == {*CHOICE_FIELDS, "dataset"}
    relu = code_choices({**dict.fromkeys(CHOICE_FIELDS.values(), "x"), "arch": "plain"}, "d")
    assert relu["activation"] == "x" and relu["dataset"] == "d"
    linear = code_choices({**dict.fromkeys(CHOICE_FIELDS.values(), "x"), "arch": "linear"}, "d")
    assert linear["activation"] is None and linear["init"] == "x"  # moot: no entry hashed
    cpu = {"arch": "plain", "activation": "relu", "init": "kaiming", "norm": "batch"}
    cpu |= {"downsampling": "maxpool", "reduction": "none", "head": "gap"}
    tanh = {**cpu, "activation": "tanh"}
    assert code_fingerprint("cpu", code_choices(cpu, "mnist5k")) != code_fingerprint(
        "cpu", code_choices(tanh, "mnist5k")
    )


@pytest.mark.parametrize("bad", ["yes", 1])
def test_reuse_runs_must_be_a_boolean(tmp_path: Path, bad: object):
    from ablate.errors import ConfigError
    from ablate.sweep.params import load_params

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"reuse_runs": bad}))
    with pytest.raises(ConfigError, match="reuse_runs="):
        load_params(path)
