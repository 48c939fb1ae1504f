"""Assemble reports/<profile>/: report.md (a short header, one line per question ID, what
matters most), one file per notes section with each ID's full section, and appendix.md (the
statistics, provenance, controls, rates, main-grid overview, non-ok runs, run inventory)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ablate.analysis.controls import ControlCheck
from ablate.analysis.metrics import training_minutes
from ablate.analysis.rules.common import NOT_RUN, MissingEvidence, Verdict, not_run
from ablate.io import atomic_write_text, clean_stale_temps
from ablate.report import (
    activations,
    batchnorm,
    controls,
    convolution,
    families,
    importance,
    init,
    layout,
    main_grid,
    own_study,
    practice,
    preprocessing,
    rates,
    sigmoid,
    why_relu,
)
from ablate.report.context import Context, Section, load_questions
from ablate.report.controls import guard, study_checks
from ablate.report.markdown import fmt, table
from ablate.report.provenance import checkout_state, code_rows

Builder = Callable[[Context], Section]
BUILDERS: dict[str, Builder] = {
    "C1": convolution.c1,
    "C2": convolution.c2,
    "C3": convolution.c3,
    "C4": families.c4,
    "A1": activations.a1,
    "A2": sigmoid.a2,
    "A3": activations.a3,
    "A4": activations.a4,
    "A5": why_relu.a5,
    "D1": preprocessing.d1,
    "W1": init.w1,
    "W2": init.w2,
    "W3": init.w3,
    "B1": batchnorm.b1,
    "B2": batchnorm.b2,
    "T1": practice.t1,
    "T2": practice.t2,
    "T3": practice.t3,
    "T4": practice.t4,
}
OVERVIEW: dict[str, list[Callable[[Context], Section | None]]] = {
    "main": [main_grid.main_effects, main_grid.interactions]
}


def _unique(df: pd.DataFrame, column: str) -> str:
    values = [str(v) for v in pd.unique(df[column].dropna())]
    return ", ".join(values) if values else "—"


def header(ctx: Context) -> str:
    runs = ctx.runs
    counts = runs["status"].value_counts()
    status = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "diverged", "timeout", "failed"))
    rows = [
        ["profile", ctx.params.get("profile")],
        ["dataset", _unique(runs, "dataset")],
        ["runs", f"{len(runs)} ({status})"],
        [
            "training time, summed over runs",
            f"{training_minutes(runs):.1f} min (each run's wall time, rate searches included)",
        ],
        *code_rows(runs),
        ["generated", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")],
    ]
    return table(["", ""], rows)


def provenance(ctx: Context) -> str:
    """What the short header leaves out: the checkout, library versions and hardware."""
    runs = ctx.runs
    hardware = f"{_unique(runs, 'processor')}, {_unique(runs, 'cpus')} CPUs"
    if runs["cuda"].notna().any():
        hardware += f", GPU {_unique(runs, 'cuda')}"
    rows = [
        ["report written at", checkout_state()],
        [
            "versions",
            f"python {_unique(runs, 'python')}, torch {_unique(runs, 'torch')}, "
            f"lightning {_unique(runs, 'lightning')}",
        ],
        ["hardware", hardware],
    ]
    return table(["", ""], rows)


def question_section(
    ctx: Context, q: dict[str, str], checks: list[ControlCheck] | None = None
) -> tuple[Section, Verdict]:
    reason = ctx.missing_reason(q["study"])
    builder = BUILDERS.get(q["id"])
    if reason is None and builder is None:
        reason = f"no analysis of study `{q['study']}` answers {q['id']} yet"
    assert reason is not None or builder is not None
    quote = f"> 原文：{q['zh']}\n>\n> *{q['en']}*"
    section = None
    if reason is None:
        try:
            section = builder(ctx)
        except MissingEvidence as err:
            reason = str(err)
    if section is None:
        verdict = not_run(q["id"], reason)
        body = f"{quote}\n\n**Not run**: {reason}."
        return Section(q["id"].lower(), f"{q['id']}", body), verdict
    verdict = guard(section.verdicts[0], checks or [])
    body = "\n\n".join(
        [
            quote,
            section.body,
            f"**Verdict: {verdict.verdict}.** {verdict.explanation}",
            ctx.reproduce(q["study"]),
        ]
    )
    return Section(section.anchor, section.title, body, section.verdicts), verdict


def summary(questions: list[dict[str, str]], results: dict[str, Verdict]) -> str:
    """One row per ID: the question in a few words, the verdict, its key number and the
    sub-claim that decides it; the ID links to its full section."""
    rows = []
    for q in questions:
        v = results[q["id"]]
        if v.verdict == NOT_RUN:
            verdict, evidence, why = "not run", "—", v.explanation
        else:
            verdict, evidence, why = f"**{v.verdict}**", v.key_number, layout.decides(v)
        rows.append([f"[{q['id']}](#{q['id'].lower()})", layout.short(q), verdict, evidence, why])
    return table(["ID", "question", "verdict", "key number (95% CI)", "decided by"], rows)


def problems(ctx: Context) -> str:
    bad = ctx.runs[ctx.runs["status"] != "ok"]
    if bad.empty:
        return "Every run finished with status `ok`."
    rows = [
        [
            r["study"],
            r["key"],
            r["status"],
            ", ".join(
                f"{a}={r[a]}" for a in [*main_grid.MAIN_AXES, "norm_position", "depth", "lr"]
            ),
            fmt(r.get("diverged_step"), digits=0),
            str(r.get("error") or "")[:120],
        ]
        for _, r in bad.iterrows()
    ]
    return (
        "Diverged, timed-out and failed runs are results: they are listed here and "
        "counted in the tables, never dropped silently.\n\n"
        + table(["study", "key", "status", "cell", "step", "error"], rows)
    )


def inventory(ctx: Context) -> str:
    rows = []
    for study, group in ctx.runs.groupby("study", sort=True):
        counts = group["status"].value_counts()
        rows.append(
            [
                study,
                len(group),
                *(int(counts.get(s, 0)) for s in ("ok", "diverged", "timeout", "failed")),
                f"{training_minutes(group):.1f}",
                _unique(group, "data_hash"),
            ]
        )
    return table(
        ["study", "runs", "ok", "diverged", "timeout", "failed", "training min", "data hash"],
        rows,
    )


def build(ctx: Context) -> tuple[dict[str, str], dict[str, Verdict]]:
    """Every file of the report by name, and the verdict of every question ID."""
    questions = load_questions()
    results: dict[str, Verdict] = {}
    sections: list[Section] = []
    checks = study_checks(ctx)
    for q in questions:
        used = [q["study"], *q.get("also", [])]  # every study whose runs the answer reads
        found = [c for study in used for c in checks.get(study, [])]
        section, verdict = question_section(ctx, q, found)
        results[q["id"]] = verdict
        sections.append(section)
    overview = [controls.section(checks)] if checks else []
    overview += [s for s in [rates.section(ctx)] if s is not None]
    overview += [
        section
        for study, builders in OVERVIEW.items()
        if ctx.missing_reason(study) is None
        for b in builders
        if (section := b(ctx)) is not None  # None: the grid cannot support it
    ]
    own = [own_study.section(ctx, s, checks.get(s, [])) for s in own_study.own_studies(ctx)]
    matters = own_study.point_to(importance.section(ctx, results), own)
    pages = {
        layout.MAIN: main_page(ctx, questions, results, matters, own),
        **section_pages(questions, sections),
        layout.APPENDIX: appendix(ctx, [*own, *overview]),
    }
    return layout.relink(pages), results


def _block(anchor: str, heading: str, body: str) -> str:
    return f'<a id="{anchor}"></a>\n\n{heading}\n\n{body}'


def main_page(
    ctx: Context,
    questions: list[dict[str, str]],
    results: dict[str, Verdict],
    matters: Section,
    own: list[Section],
) -> str:
    """What a reader needs first: the rules, the header, every ID in a line, what matters."""
    files: dict[str, list[str]] = {}
    for q in questions:
        files.setdefault(layout.section_file(q["section"]), []).append(q["id"])
    titles = {layout.section_file(q["section"]): q["section"] for q in questions}
    details = [f"- [{titles[name]}]({name}): {', '.join(ids)}" for name, ids in files.items()] + [
        f"- [Appendix]({layout.APPENDIX}): how the tests work, controls, learning rates, "
        "main-grid effects, runs not ok, run inventory"
    ]
    details += [f"- [{s.title}](#{s.anchor}): your own study, in the appendix" for s in own]
    return (
        "\n\n".join(
            [
                "# Which CNN design choice matters, and why?",
                layout.RULES,
                "Every number, figure and verdict is computed from the runs in `runs/` "
                f"(aggregated in `results/{ctx.params.get('profile')}/runs.csv`) by `dvc repro`; "
                "nothing is written by hand. How each test works: [statistics](#statistics).",
                header(ctx),
                _block(
                    "summary",
                    "## Summary",
                    "Each ID links to its full section.\n\n" + summary(questions, results),
                ),
                _block(matters.anchor, f"## {matters.title}", matters.body),
                "## Details\n\n" + "\n".join(details),
            ]
        )
        + "\n"
    )


def section_pages(questions: list[dict[str, str]], sections: list[Section]) -> dict[str, str]:
    """One file per notes section, holding the full section of each of its IDs."""
    parts: dict[str, list[str]] = {}
    for q, s in zip(questions, sections, strict=True):
        name = layout.section_file(q["section"])
        found = parts.setdefault(
            name, [f"# {q['section']}", "[Summary](#summary) · [Appendix](#statistics)"]
        )
        found.append(_block(q["id"].lower(), f"## {q['id']}: {q['en']}", s.body))
    return {name: "\n\n".join(found) + "\n" for name, found in parts.items()}


def appendix(ctx: Context, overview: list[Section]) -> str:
    """The tables behind the verdicts, and what the short header leaves out."""
    parts = [
        "# Appendix",
        "[Summary](#summary)",
        _block("statistics", "## How the verdicts are tested", layout.STATISTICS),
        _block("provenance", "## Provenance", provenance(ctx)),
        *(_block(s.anchor, f"## {s.title}", s.body) for s in overview),
        _block("not-ok", "## Runs that did not finish ok", problems(ctx)),
        _block("inventory", "## Run inventory", inventory(ctx)),
    ]
    return "\n\n".join(parts) + "\n"


def _read(path: Path, order: list[str]) -> pd.DataFrame:
    """A table sorted on `order` (the columns it has), so the report never depends on the
    order in which runs were written or joined: same runs, same bytes."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.EmptyDataError):
        return pd.DataFrame()
    by = [c for c in order if c in frame.columns]
    return frame.sort_values(by, kind="stable", ignore_index=True) if by else frame


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _figure_files(folder: Path) -> dict[Path, tuple[int, int]]:
    return {p: (s.st_ino, s.st_mtime_ns) for p in folder.glob("*.png") for s in [p.stat()]}


def prune_figures(before: dict[Path, tuple[int, int]]) -> list[Path]:
    """Remove the figures of an earlier report that this one did not draw again: each
    figure is written to a new file renamed into place, so one left unchanged is stale."""
    stale = [p for p, stat in before.items() if _figure_files(p.parent).get(p) == stat]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_report(results: Path, params: dict[str, Any], out_dir: Path) -> dict[str, Verdict]:
    """Read the aggregated tables under `results` and write `out_dir`/report.md, the files
    it links and their figures (figures/); no file or figure of an earlier report is left."""
    for folder in (out_dir, out_dir / "figures"):
        folder.mkdir(parents=True, exist_ok=True)  # a DVC output even when no figure is drawn
        clean_stale_temps(folder)
    drawn_before = _figure_files(out_dir / "figures")
    runs = _read(results / "runs.csv", ["study", "key"])
    if runs.empty:
        raise FileNotFoundError(f"{results / 'runs.csv'} is missing or empty: run the aggregate")
    ctx = Context(
        runs,
        params,
        out_dir,
        probes=_read(results / "probes.csv", ["study", "key", "point", "kind", "layer_idx"]),
        history=_read(results / "history.csv", ["study", "key", "step", "epoch"]),
        cost=_read(results / "activation_cost.csv", []),
        tuning=_json(results / "tuned_lr.json"),
        importance=_read(results / "importance.csv", []),
    )
    pages, results = build(ctx)
    prune_figures(drawn_before)
    for name, text in pages.items():
        atomic_write_text(out_dir / name, text)
    layout.prune_pages(out_dir, set(pages))
    return results
