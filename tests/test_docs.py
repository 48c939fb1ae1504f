"""The README and docs/ cite only what the repository holds, and docs/questions.md lists the
question IDs as the report quotes them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ablate.report.context import load_questions

from .conftest import REPO

PAGES = [REPO / "README.md", REPO / "reports" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TRACKED = ("conf/", "src/", "tests/", "pipelines/", "docs/", "results/cpu/", "reports/cpu/")


def cited(page: Path) -> list[Path]:
    """Relative link targets, and backticked paths under the tracked folders."""
    text = page.read_text()
    links = [t for t in re.findall(r"\]\(([^)#]+)\)", text) if "://" not in t]
    paths = [
        t.split()[0].split("::")[0]
        for t in re.findall(r"`([^`\n]+)`", text)
        if t.startswith(TRACKED) and not re.search(r"[<*{$]", t)
    ]
    return [page.parent / t for t in links] + [REPO / p for p in paths]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_cited_path_exists(page: Path):
    missing = [str(p) for p in cited(page) if not p.exists()]
    assert cited(page) and not missing, missing


def test_questions_page_matches_the_questions_the_report_quotes():
    text = (REPO / "docs" / "questions.md").read_text()
    positions = []
    for q in load_questions():
        entry = f"**{q['id']}**: {q['en']}\n\n> 原文：{q['zh']}\n"
        assert entry in text, q["id"]
        positions.append(text.index(entry))
    assert positions == sorted(positions)  # in the report's order
