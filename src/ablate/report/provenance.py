"""Where the report's numbers come from: the code fingerprint(s) and commit(s) of the runs,
runs reused across a code change, and the exact state of the checkout the report was
written from."""

from __future__ import annotations

import subprocess

import pandas as pd

from ablate.training.fingerprint import code_fingerprint
from ablate.training.keys import CHOICE_FIELDS, code_choices

# Files that `dvc repro` itself rewrites before the report stage: not "local changes".
PIPELINE_OUTPUTS = ("dvc.lock", "results/", "reports/", "runs/", "data/")
FEW_CODES = 4  # up to this many fingerprints are named in the header; more are counted


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout


def checkout_state() -> str:
    """`<sha>`, then which tracked files differ from it, pipeline outputs counted apart."""
    try:
        sha = _git("rev-parse", "--short=10", "HEAD").strip()
        changed = [line[3:] for line in _git("status", "--porcelain", "-uno").splitlines()]
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    outputs = [f for f in changed if f.startswith(PIPELINE_OUTPUTS)]
    edits = sorted(set(changed) - set(outputs))
    text = f"`{sha}`"
    if edits:
        shown = ", ".join(f"`{f}`" for f in edits[:6]) + (" …" if len(edits) > 6 else "")
        text += f" with uncommitted changes in {len(edits)} file(s): {shown}"
    else:
        text += ", no uncommitted source changes"
    if outputs:
        text += f" ({len(outputs)} pipeline output(s) rewritten by this run)"
    return text


def current_fingerprints(runs: pd.DataFrame) -> pd.Series:
    """The fingerprint the current code gives each run: the shared code and the registry
    entries its row selects, so a new entry leaves the runs that do not use it current."""
    device = "cuda" if "cuda" in runs and runs["cuda"].notna().any() else "cpu"
    fields = ["arch", *CHOICE_FIELDS.values()]
    if runs.empty or not set(fields) <= set(runs.columns):
        return pd.Series(code_fingerprint(device), index=runs.index)
    return pd.Series(
        [
            code_fingerprint(device, code_choices(row, str(row["dataset"])))
            for row in runs[[*dict.fromkeys(fields), "dataset"]].to_dict("records")
        ],
        index=runs.index,
    )


def code_rows(runs: pd.DataFrame) -> list[list[str]]:
    """Header rows: runs per commit and whether the current code gives them the same
    fingerprint, a warning when they mix code versions, and what `reuse_runs` kept. Each run
    has one fingerprint per combination of registry entries it uses, so the row counts them
    rather than listing dozens (runs.csv's `code` column has each run's)."""
    codes = runs.assign(code=runs["code"].fillna("unrecorded"), git=runs["git"].fillna("?"))
    codes = codes.assign(current=codes["code"] == current_fingerprints(runs))
    if codes["code"].nunique() <= FEW_CODES:  # few enough to name
        groups = codes.groupby(["code", "git"], sort=True)["current"].agg(["size", "all"])
        lines = [
            f"`{code}` at commit `{git}`: {n} runs" + (" (current code)" if current else "")
            for (code, git), n, current in zip(
                groups.index, groups["size"], groups["all"], strict=True
            )
        ]
    else:
        lines = [
            f"{len(group)} runs at commit `{git}`, "
            + (
                "all from the current code"
                if group["current"].all()
                else f"{int(group['current'].sum())} from the current code"
            )
            + f" ({group['code'].nunique()} fingerprints: one per combination of registry "
            "entries)"
            for git, group in codes.groupby("git", sort=True)
        ]
    rows = [["code of the runs", "; ".join(lines)]]
    stale = codes[~codes["current"]]
    if len(stale):
        reused = int(stale["reused_from"].notna().sum()) if "reused_from" in stale else 0
        names = ", ".join(f"`{f}`" for f in sorted(stale["code"].unique()))
        rows.append(
            [
                "**code versions mixed**",
                f"{len(stale)} runs come from code other than the current ({names})"
                + (f", {reused} of them reused by `reuse_runs: true`" if reused else ""),
            ]
        )
    return rows
