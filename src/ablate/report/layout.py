"""How the report is split into files a reader can use: `report.md` answers every ID in one
line and links each to its full section in one file per notes section; `appendix.md` holds
the tables behind them. Links between the files are rewritten so each resolves to the file
that holds its anchor, and a file an earlier report wrote but this one did not is removed."""

from __future__ import annotations

import re
from pathlib import Path

from ablate.analysis.rules.common import ERROR_SHARE, MIN_MARGIN, VERDICTS, Verdict

MAIN = "report.md"
APPENDIX = "appendix.md"
SHORT_WORDS = 60  # characters of a question's text when it names no `short` form
DECIDES_CHARS = 120  # characters of an explanation shown when no sub-claim decides
ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
LOCAL_LINK = re.compile(r"\]\(#([^)\s]+)\)")

# The rules as the README states them: the report opens with this paragraph word for word.
RULES = (
    "Verdicts read **supported**, **refuted**, **nuanced** (some sub-claims hold, others "
    "fail) or **inconclusive**, by explicit rules in `src/ablate/analysis/rules/`. A "
    "verdict whose deciding 95% confidence interval spans zero, or whose test gives "
    "p ≥ 0.05 after Holm's correction, reads *inconclusive*, unless the whole interval "
    "lies within the equivalence margin ±m: that reads *no effect larger than ±m*, which "
    "refutes a claimed effect and supports a claimed absence of one. m is "
    f"{ERROR_SHARE:.0%} of the reference arm's test error rate (±0.0075 at 0.97 accuracy), "
    f"never under {MIN_MARGIN:g}; each section names its m. A study whose control arm misses "
    "its accuracy mark reads *inconclusive: under-trained*."
)

# How the tests behind the verdicts work: the appendix states it in full.
STATISTICS = (
    "A paired comparison (the same cells or seeds in both arms) is tested by an exact "
    "sign-flip test over its independent units (grid cells, or seeds where a study has fewer "
    "cells than seeds): with five units or fewer it cannot reach p < 0.05, so such a "
    "comparison is undecidable by design (where one comparison decides a verdict, the verdict "
    "gives the number of units it would need). From six units on, its 95% interval is the one "
    "that inverts that same test (every shift the test does not reject), so the interval "
    "excludes 0 exactly when p < 0.05; below six, a Student-t interval describes the spread. "
    "Where the units are (rate, seed) pairs (the batch-norm studies and `dead_units`), "
    "each rate draws its own init and batch order from the seed (`trainer.seed_by_rate`), "
    "so one seed at two rates is two independent draws, not one draw counted twice. "
    "Two groups of independent runs that share no "
    "pairing are compared by Welch's t-test and interval. Intervals of accuracies are cut to "
    "[0, 1], and those of accuracy differences to [-1, 1], the values they can take: a "
    "t-interval on two or three values can reach past them, and one cut at both ends is at "
    "least that wide."
)


def section_file(section: str) -> str:
    """The file of a notes section: `Weight initialisation` -> `weight-initialisation.md`."""
    name = re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-")
    if not name or f"{name}.md" in (MAIN, APPENDIX):
        raise ValueError(
            f"notes section {section!r} gives no file name of its own "
            f"(its name must contain a letter or digit and differ from {MAIN}, {APPENDIX})"
        )
    return f"{name}.md"


def short(question: dict[str, str]) -> str:
    """The question in a few words: its `short` form, else its text cut at a word."""
    if question.get("short"):
        return question["short"]
    text = question["en"]
    if len(text) <= SHORT_WORDS:
        return text
    return text[:SHORT_WORDS].rsplit(" ", 1)[0] + " …"


def decides(verdict: Verdict) -> str:
    """Which sub-claim decides the verdict: the failing ones of a nuanced verdict, the
    unclear ones of an inconclusive one; a verdict without sub-claims gives the first
    sentence of its explanation."""
    if verdict.verdict not in VERDICTS:
        return "—"
    parts = verdict.parts
    failed = [name for name, ok in parts.items() if ok is False]
    unclear = [name for name, ok in parts.items() if ok is None]
    if not parts or (verdict.verdict == "inconclusive" and not unclear):  # e.g. under-trained
        first = verdict.explanation.split(". ", 1)[0].rstrip(".")
        return first if len(first) <= DECIDES_CHARS else first[:DECIDES_CHARS] + " …"
    if verdict.verdict == "supported":
        return f"all {len(parts)} hold" if len(parts) > 1 else next(iter(parts))
    # Quoted: each is the sub-claim as the notes make it, not what was found.
    if verdict.verdict in ("refuted", "nuanced"):
        return "fails: " + "; ".join(f'"{name}"' for name in failed)
    return "unclear: " + "; ".join(f'"{name}"' for name in unclear)  # no part failed


def anchors(text: str) -> set[str]:
    return set(ANCHOR.findall(text))


def relink(pages: dict[str, str]) -> dict[str, str]:
    """Each `](#anchor)` link that points to an anchor of another page points to that page
    (`](convolution.md#c1)`), so a section moved out of report.md keeps its links."""
    home = {a: name for name, text in pages.items() for a in sorted(anchors(text))}

    def fix(name: str, text: str) -> str:
        own = anchors(text)

        def target(match: re.Match[str]) -> str:
            anchor = match.group(1)
            if anchor in own or anchor not in home:
                return match.group(0)
            return f"]({home[anchor]}#{anchor})"

        return LOCAL_LINK.sub(target, text)

    return {name: fix(name, text) for name, text in pages.items()}


def prune_pages(folder: Path, written: set[str]) -> list[Path]:
    """Remove the markdown files of an earlier report that this one did not write (a notes
    section renamed or gone), so the folder holds only what the report links."""
    stale = sorted(p for p in folder.glob("*.md") if p.name not in written)
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
