"""A study of the user's own, from conf/study/_template.yaml: a misspelled name lists the
valid studies, and a 2x2 grid on the image folder of tests/fixtures/shapes goes from
params.yaml `studies` to a report section of its own, its controls judged against the marks
of the dataset its runs trained on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ablate.errors import ConfigError
from ablate.sweep.params import STUDIES, load_params

from .conftest import REPO
from .repo_copy import copy_repo, env, report_text

TEMPLATE = REPO / "conf" / "study" / "_template.yaml"
SHAPES = REPO / "tests" / "fixtures" / "shapes"


def test_the_template_is_not_a_study_and_a_typo_lists_the_studies(tmp_path: Path):
    assert TEMPLATE.is_file() and "_template" not in STUDIES and "main" in STUDIES
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"studies": ["mian"]}))
    with pytest.raises(ConfigError, match="study 'mian' is not valid") as err:
        load_params(path)
    assert "main" in str(err.value) and "_template" not in str(err.value)


def own_study(root: Path, name: str) -> None:
    """The template, filled in as a user would: name, image folder, a 2x2 grid, and budgets
    small enough for a test (two seeds, 3 steps, no probes)."""
    config = yaml.safe_load(TEMPLATE.read_text())
    config["study"]["name"] = name
    config["data"].update(path=str(SHAPES), batch_size=16, val_fraction=0.2, test_fraction=0.25)
    config["profile"]["seeds"] = 2
    config["trainer"]["max_steps"] = 3  # one batch an epoch: three epochs
    config["model"] = {"stages": 2}  # 16 px images
    config["probes"] = {"enabled": False}
    config["hydra"]["sweeper"]["params"] = {
        "model.activation": "relu,tanh",
        "model.norm": "none,batch",
    }
    text = "# @package _global_\n" + yaml.safe_dump(config, sort_keys=False)
    (root / "conf" / "study" / f"{name}.yaml").write_text(text)


def stage(root: Path, *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, *args], cwd=root, env=env(root), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_own_study_from_params_to_its_report_section(tmp_path: Path):
    root = copy_repo(tmp_path / "repo", profile="smoke", studies=["shapes"], seeds=None)
    own_study(root, "shapes")
    stage(root, "pipelines/sweep.py", "shapes")
    stage(root, "pipelines/aggregate.py")
    stage(root, "pipelines/report.py")
    folder = root / "reports" / "smoke"
    report = report_text(folder)
    main = (folder / "report.md").read_text()
    own = report.split("## Study `shapes`", 1)[1].split("\n## ", 1)[0]
    assert "Study `shapes`: 8 runs (2 seeds per cell)" in own
    # The controls against the marks of the runs' own dataset: the study's image folder.
    assert "| activation=relu, norm=batch | conv | 0.80 |" in own
    assert "0.97" not in own.split("**Per cell**")[0]  # mnist5k's conv mark, never used here
    parts = ("**Per cell**", "**Main effects**", "**activation x norm**", "trains at all")
    for part in parts:
        assert part in own, part
    for figure in ("shapes_main_effects.png", "shapes_interactions.png"):
        assert f"figures/{figure}" in own and (folder / "figures" / figure).is_file()
    assert "python pipelines/sweep.py shapes" in own
    # The main grid did not run: no overview of it, and What matters most points here.
    assert "Main grid: main effects" not in report
    matters = main.split("## What matters most", 1)[1]
    assert re.search(r"\[Study `shapes`\]\((appendix\.md)?#study-shapes\)", matters)
