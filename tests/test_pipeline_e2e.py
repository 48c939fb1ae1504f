"""End to end: `dvc repro` on the smoke profile in a temporary copy of the repository."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from ablate.analysis.floor import flag_collapsed

from .repo_copy import copy_repo, dvc, report_text, repro_ok


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("e2e") / "repo", profile="smoke", wandb="disabled")


@pytest.fixture(scope="module")
def repro(project: Path) -> subprocess.CompletedProcess[str]:
    return repro_ok(project)


def test_report_and_figures_exist_and_are_valid(project: Path, repro):
    report = report_text(project / "reports" / "smoke")
    assert report.startswith("# Which CNN design choice matters")
    for qid in [
        "C1",
        "C2",
        "C3",
        "C4",
        "A1",
        "A2",
        "A3",
        "A4",
        "A5",
        "D1",
        "W1",
        "W2",
        "W3",
        "B1",
        "B2",
        "T1",
        "T2",
        "T3",
        "T4",
    ]:
        assert re.search(rf"\[{qid}\]\([\w-]+\.md#{qid.lower()}\)", report), qid
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", report)
    assert len(links) >= 4
    for link in links:
        path = project / "reports" / "smoke" / link
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as img:
            img.verify()
            assert img.size[0] > 200 and img.size[1] > 100


def summary_row(report: str, qid: str) -> str:
    match = re.search(rf"^\| \[{qid}\]\([\w-]+\.md#{qid.lower()}\) \|.*$", report, re.M)
    assert match, qid
    return match.group(0)


def section(report: str, anchor: str) -> str:
    """The text of one ID's section (from its anchor to the next one)."""
    start = report.index(f'<a id="{anchor}"></a>')
    end = report.find('<a id="', start + 1)
    return report[start : end if end > 0 else None]


def test_summary_numbers_come_from_runs_csv(project: Path, repro):
    report = report_text(project / "reports" / "smoke")
    runs = pd.read_csv(project / "results" / "smoke" / "runs.csv")
    ok = runs[(runs["study"] == "main") & (runs["status"] == "ok") & (runs["role"] == "grid")]
    assert len(ok) == 4 and f"| runs | {len(runs)} (" in report

    def paired(axis: str, a: str, b: str) -> str:
        """The paired difference as the key number prints it: pairs with an arm collapsed
        to one class left out, seeds averaged within each cell, then the mean over cells."""
        cells = [c for c in ["activation", "init", "norm", "downsampling", "arch"] if c != axis]
        rows = flag_collapsed(ok)
        wide = rows.pivot_table(index=[*cells, "seed"], columns=axis, values="test_acc")
        low = rows.pivot_table(index=[*cells, "seed"], columns=axis, values="collapsed")
        diffs = (wide[a] - wide[b])[(low[a] == 0) & (low[b] == 0)]
        return f"{diffs.groupby(cells).mean().mean():+.3f}" if len(diffs) else "n/a"

    # An under-trained study's summary row gives the control's number instead; its
    # section still quotes what the rule alone would have said.
    c3 = (
        section(report, "c3")
        if "under-trained" in summary_row(report, "C3")
        else summary_row(report, "C3")
    )
    assert f"Δacc {paired('downsampling', 'strided_conv', 'maxpool')}" in c3
    flops = ok.groupby("downsampling")["flops_per_image"].mean()
    assert f"FLOPs ×{flops['strided_conv'] / flops['maxpool']:.2f}" in c3
    c4 = (
        section(report, "c4")
        if "under-trained" in summary_row(report, "C4")
        else summary_row(report, "C4")
    )
    # C4's families at matched FLOPs, paired by seed in the families study.
    fam = runs[(runs["study"] == "families") & (runs["status"] == "ok") & (runs["role"] == "grid")]
    by_seed = fam.pivot_table(index="seed", columns="arch", values="test_acc")
    assert f"resnet − plain {(by_seed['resnet'] - by_seed['plain']).mean():+.3f}" in c4
    control = ok[(ok["downsampling"] == "maxpool") & (ok["arch"] == "plain")]["test_acc"].mean()
    if "under-trained" in summary_row(report, "C3"):
        assert f"control accuracy {control:.3f} < mark" in summary_row(report, "C3")
    for qid in ["C1", "C2", "A1", "A3", "W1", "T3", "T4"]:
        cells = summary_row(report, qid).split(" | ")
        verdict = cells[2].strip("* ")
        assert verdict in {"supported", "refuted", "nuanced", "inconclusive", "not run"}, cells


def test_metrics_and_second_repro_do_no_training(project: Path, repro):
    metrics = dvc(project, "metrics", "show")
    assert metrics.returncode == 0 and "training_minutes" in metrics.stdout
    assert max(len(line) for line in metrics.stdout.splitlines()) <= 100  # fits a terminal
    plots = dvc(project, "plots", "show", "--json")
    assert plots.returncode == 0
    shown = json.loads(plots.stdout)["data"]
    assert "reports/smoke/figures/main_effects.png" in shown  # static images: work offline
    assert all(entry[0]["type"] == "image" for entry in shown.values())
    again = dvc(project, "repro")
    assert again.returncode == 0
    assert "Running stage" not in again.stdout
    runs = sorted(p.name for p in (project / "runs" / "main").iterdir() if p.is_dir())
    table = pd.read_csv(project / "results" / "smoke" / "runs.csv")
    main = table[table["study"] == "main"]
    # 4 grid cells; each downsampling's plain cell searched on 2 seeds at 3 rates and any
    # half-decade extensions, of which the chosen rate's seed-0 runs are plain grid cells.
    arms = json.loads((project / "runs" / "main" / "tuned_lr.json").read_text())["arms"]
    searched = sum(2 * len(entry["scores"]) for entry in arms.values())
    assert len(arms) == 2 and all(len(entry["scores"]) >= 3 for entry in arms.values())
    assert len(runs) == len(main) == searched + 4 - 2 and (main["role"] == "grid").sum() == 4


def test_one_more_level_trains_only_the_new_cells(project: Path, repro):
    main = project / "runs" / "main"
    before = {p.parent.name: p.read_bytes() for p in main.glob("*/result.json")}
    profile = project / "conf" / "profile" / "smoke.yaml"
    text = profile.read_text()
    profile.write_text(
        text.replace("model.arch: plain,resnet\n", "model.arch: plain,resnet,inception\n")
    )
    # Only the stages this test reads: the profile file is a dependency of every sweep stage,
    # and restarting all of them would check nothing more than the second repro above.
    proc = reproduce_main(project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = {p.parent.name: p.read_bytes() for p in main.glob("*/result.json")}
    assert len(after) == len(before) + 2  # inception x (maxpool, strided_conv)
    assert all(after[k] == v for k, v in before.items())
    table = pd.read_csv(project / "results" / "smoke" / "runs.csv")
    assert (table["study"] == "main").sum() == len(after)
    profile.write_text(text.replace("model.arch: plain,resnet\n", "model.arch: plain\n"))
    assert reproduce_main(project).returncode == 0
    table = pd.read_csv(project / "results" / "smoke" / "runs.csv")
    assert set(table[table["study"] == "main"]["arch"]) == {"plain"}  # dropped cells left out
    assert len(list(main.glob("*/result.json"))) == len(after)  # ...but kept on disk


def reproduce_main(project: Path) -> subprocess.CompletedProcess[str]:
    """`dvc repro` of the main grid's sweep and the aggregate alone (`-s`: not upstream)."""
    proc = dvc(project, "repro", "-s", "sweep@main")
    return proc if proc.returncode else dvc(project, "repro", "-s", "aggregate")
