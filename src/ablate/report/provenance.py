"""Where the report's numbers come from: the code fingerprint(s) and commit(s) of the runs,
runs reused across a code change, and the exact state of the checkout the report was
written from."""

from __future__ import annotations

import subprocess

import pandas as pd

from ablate.training.fingerprint import code_fingerprint

# Files that `dvc repro` itself rewrites before the report stage: not "local changes".
PIPELINE_OUTPUTS = ("dvc.lock", "results/", "reports/", "runs/", "data/")


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


def current_fingerprint(runs: pd.DataFrame) -> str:
    device = "cuda" if "cuda" in runs and runs["cuda"].notna().any() else "cpu"
    return code_fingerprint(device)


def code_rows(runs: pd.DataFrame) -> list[list[str]]:
    """Header rows: runs per (fingerprint, commit), a warning when they mix code versions,
    and what `reuse_runs` kept."""
    current = current_fingerprint(runs)
    codes = runs.assign(code=runs["code"].fillna("unrecorded"), git=runs["git"].fillna("?"))
    groups = codes.groupby(["code", "git"], sort=True).size()
    lines = [
        f"`{code}` at commit `{git}`: {n} runs" + (" (current code)" if code == current else "")
        for (code, git), n in groups.items()
    ]
    rows = [["code of the runs", "; ".join(lines)]]
    fingerprints = sorted(codes["code"].unique())
    if len(fingerprints) > 1 or fingerprints != [current]:
        stale = [f for f in fingerprints if f != current]
        reused = int(runs["reused_from"].notna().sum()) if "reused_from" in runs else 0
        rows.append(
            [
                "**code versions mixed**",
                f"the current code is `{current}`; {int(codes['code'].isin(stale).sum())} runs "
                f"come from {', '.join(f'`{f}`' for f in stale)}"
                + (f", {reused} of them reused by `reuse_runs: true`" if reused else ""),
            ]
        )
    return rows
