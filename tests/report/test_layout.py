"""The report's files: report.md answers every ID in one line linked to its full section in
another file, stays short however long the sections grow, states the rules of
docs/usage.md, and a new report leaves no file of an earlier one behind."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ablate.analysis.rules.common import Verdict, from_parts
from ablate.report import layout, render
from ablate.report.context import Section, load_questions

REPO = Path(__file__).resolve().parents[2]
LINE_BUDGET = 300  # report.md, whatever the length of the sections it links
SECTION_LINES = 200  # each fake section is longer than the whole budget of report.md


def _runs(studies: list[str]) -> pd.DataFrame:
    """One finished grid run per study, with the columns the header and inventory read."""
    n = len(studies)
    return pd.DataFrame(
        {
            "study": studies,
            "key": [f"k{i}" for i in range(n)],
            "role": ["grid"] * n,
            "status": ["ok"] * n,
            "wall_time_s": [60.0] * n,
            "test_acc": [0.9] * n,
            "lr": [0.1] * n,
            **{c: ["x"] * n for c in ("processor", "dataset", "python", "torch", "lightning")},
            "cpus": [2] * n,
            "cuda": [None] * n,
            "code": ["abc"] * n,
            "git": ["123"] * n,
            "data_hash": ["h"] * n,
        }
    )


def _builder(qid: str):
    """A section as long as a real one, with a figure, a link to the appendix and one to
    another ID, and a verdict made of sub-claims."""

    def build(ctx) -> Section:
        lines = "\n".join(f"line {i} of {qid}" for i in range(SECTION_LINES))
        body = f"![figure](figures/{qid}.png)\n\nSee [rates](#rates) and [C1](#c1).\n\n{lines}"
        parts = {"first part holds": True, "second part is unclear": None}
        return Section(qid.lower(), qid, body, [from_parts(qid, parts, "Δ +0.1", {}, "Fake")])

    return build


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A report written by `write_report` from a synthetic results folder, every ID
    answered by a long fake section, over an earlier report's leftovers."""
    questions = load_questions()
    studies = sorted({q["study"] for q in questions})
    monkeypatch.setattr(render, "BUILDERS", {q["id"]: _builder(q["id"]) for q in questions})
    monkeypatch.setattr(render, "OVERVIEW", {})
    monkeypatch.setattr(render, "study_checks", lambda ctx: {})
    monkeypatch.setattr(render.rates, "section", lambda ctx: Section("rates", "Rates", "table"))
    monkeypatch.setattr(
        render.importance,
        "section",
        lambda ctx, verdicts: Section("what-matters", "What matters most", "See [B2](#b2)."),
    )
    results, out = tmp_path / "results", tmp_path / "reports"
    results.mkdir()
    _runs(studies).to_csv(results / "runs.csv", index=False)
    (out / "figures").mkdir(parents=True)
    (out / "old-section.md").write_text("# a notes section an earlier report had\n")
    (out / "figures" / "old.png").write_bytes(b"old")
    render.write_report(results, {"profile": "cpu", "studies": studies}, out)
    return out


def _summary_rows(text: str) -> list[str]:
    return re.findall(r"^\| \[[A-Z]\d\]\(.*$", text, re.M)


def test_summary_has_one_row_per_id_linking_to_its_anchor(report: Path):
    text = (report / layout.MAIN).read_text()
    rows = _summary_rows(text)
    questions = load_questions()
    assert [re.match(r"\| \[(\w+)\]", r).group(1) for r in rows] == [q["id"] for q in questions]
    for row, q in zip(rows, questions, strict=True):
        target = re.match(r"\| \[\w+\]\(([^)#]+)#([^)]+)\)", row)
        assert target, row
        name, anchor = target.groups()
        assert name == layout.section_file(q["section"]) != layout.MAIN
        assert f'<a id="{anchor}"></a>' in (report / name).read_text(), row
        assert "**inconclusive**" in row and 'unclear: "second part is unclear"' in row


def test_every_local_link_resolves_in_its_file(report: Path):
    for page in report.glob("*.md"):
        text = page.read_text()
        for name, anchor in re.findall(r"\]\(([\w.-]*\.md)?#([^)]+)\)", text):
            assert f'<a id="{anchor}"></a>' in (report / (name or page.name)).read_text(), (
                page.name,
                name,
                anchor,
            )


def test_report_stays_under_its_line_budget_and_sections_keep_their_detail(report: Path):
    main = (report / layout.MAIN).read_text()
    assert len(main.splitlines()) <= LINE_BUDGET
    assert "line 0 of C1" not in main
    convolution = (report / "convolution.md").read_text()
    assert f"line {SECTION_LINES - 1} of C4" in convolution
    assert "![figure](figures/C1.png)" in convolution  # figures/ lies beside every file
    assert "[rates](appendix.md#rates)" in convolution and "[C1](#c1)" in convolution


def test_a_new_report_removes_the_files_of_an_earlier_one(report: Path):
    written = {layout.MAIN, layout.APPENDIX} | {
        layout.section_file(q["section"]) for q in load_questions()
    }
    assert {p.name for p in report.glob("*.md")} == written
    assert not (report / "figures" / "old.png").exists()


def test_every_file_written_is_an_output_of_the_report_stage(report: Path):
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["report"]
    outs = [(o if isinstance(o, str) else next(iter(o))) for o in stage["outs"]]
    declared = [Path(o.replace("${profile}", "cpu")) for o in outs]
    written = [Path("reports/cpu") / p.relative_to(report) for p in report.rglob("*")]
    assert written
    for path in written:
        assert any(path == d or d in path.parents for d in declared), path


def test_prune_pages_keeps_only_the_files_written(tmp_path: Path):
    for name in ("report.md", "gone.md", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert layout.prune_pages(tmp_path, {"report.md"}) == [tmp_path / "gone.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "report.md"]


def test_report_opens_with_the_usage_page_statement_of_the_rules(report: Path):
    main = (report / layout.MAIN).read_text()
    assert main.split("\n\n")[1] == layout.RULES
    usage = " ".join((REPO / "docs" / "usage.md").read_text().split())
    assert layout.RULES in usage
    assert "no effect larger than ±m" in layout.RULES and "25% of the reference arm" in layout.RULES


def test_appendix_holds_the_statistics_and_the_tables(report: Path):
    appendix = (report / layout.APPENDIX).read_text()
    assert layout.STATISTICS in appendix
    for anchor in ("statistics", "provenance", "rates", "not-ok", "inventory"):
        assert f'<a id="{anchor}"></a>' in appendix


def test_relink_points_a_link_to_the_file_of_its_anchor():
    pages = {
        "a.md": '<a id="x"></a>\n[to x](#x) [to y](#y) [nowhere](#z)',
        "b.md": '<a id="y"></a>\n[to x](#x) [to y](#y)',
    }
    assert layout.relink(pages) == {
        "a.md": '<a id="x"></a>\n[to x](#x) [to y](b.md#y) [nowhere](#z)',
        "b.md": '<a id="y"></a>\n[to x](a.md#x) [to y](#y)',
    }


@pytest.mark.parametrize(
    ("parts", "verdict", "expected"),
    [
        ({"a": True, "b": True}, "supported", "all 2 hold"),
        ({"a": True}, "supported", "a"),
        ({"a": True, "b": False}, "nuanced", 'fails: "b"'),
        ({"a": False, "b": False}, "refuted", 'fails: "a"; "b"'),
        ({"a": False, "b": None}, "refuted", 'fails: "a"'),
        ({"a": True, "b": None, "c": None}, "inconclusive", 'unclear: "b"; "c"'),
    ],
)
def test_decides_names_the_sub_claims_that_decide(parts, verdict, expected):
    v = from_parts("X1", parts, "key", {}, "Detail")
    assert v.verdict == verdict and layout.decides(v) == expected


def test_decides_without_sub_claims_gives_the_first_sentence():
    v = Verdict("A4", "refuted", "key", "No improvement: within ±0.01. And more.")
    assert layout.decides(v) == "No improvement: within ±0.01"
    assert layout.decides(Verdict("A4", "not run", "—", "no runs")) == "—"


def test_section_file_names_each_notes_section():
    assert layout.section_file("Weight initialisation") == "weight-initialisation.md"
    with pytest.raises(ValueError, match="'Appendix'"):
        layout.section_file("Appendix")


def test_short_cuts_a_long_question_at_a_word():
    assert layout.short({"en": "x", "short": "few words"}) == "few words"
    long = {"en": "word " * 30}
    assert layout.short(long).endswith(" …") and len(layout.short(long)) <= layout.SHORT_WORDS + 2
