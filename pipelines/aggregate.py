"""DVC stage `aggregate`: runs/<study>/*/ -> results/<profile>/runs.csv, probes.csv,
history.csv, the main-grid tables (main_effects.csv, learning_curves.csv), metrics.json (a few
headline numbers for `dvc metrics show`), studies.json (each study's counts and best cell), and
for every factorial study whether its nets train (trainability.csv) and the variance
decomposition of test accuracy (importance.csv, importance.json).

Only runs of each study's *current* grid are kept: runs left from an earlier grid or budget
stay on disk (their keys may come back) but are not mixed into the results.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from ablate.analysis.collect import collect, collect_history, collect_probes
from ablate.analysis.importance import as_metrics, importance_table, trainability_table
from ablate.analysis.metrics import headline, per_study
from ablate.analysis.plots import learning_curves, main_effects
from ablate.cli import exit_on_input_error
from ablate.io import atomic_write_text, clean_stale_temps
from ablate.sweep.grid import expected_keys, kept_rates
from ablate.sweep.lr_search import table_path
from ablate.sweep.params import load_params

RESULTS = Path("results")
RUNS = Path("runs")


def _only(table: pd.DataFrame, keys: set[str]) -> pd.DataFrame:
    return table[table["key"].isin(keys)] if len(table) else table


def _write(out: Path, name: str, table: pd.DataFrame) -> None:
    atomic_write_text(out / name, table.to_csv(index=False))


def _json(out: Path, name: str, data: dict) -> None:
    atomic_write_text(out / name, json.dumps(data, indent=2) + "\n")


def tuned_tables(studies: list[str]) -> dict[str, dict]:
    """Each study's per-arm rate search outcome (runs/<study>/tuned_lr.json), for the report."""
    tables = {}
    for study in studies:
        path = table_path(RUNS, study)
        if path.exists():
            tables[study] = json.loads(path.read_text())
    return tables


@exit_on_input_error
def main() -> None:
    params = load_params()
    studies = params["studies"]
    out = RESULTS / params["profile"]  # one folder per profile: none overwrites another
    clean_stale_temps(out)
    runs, problems = collect(RUNS, studies)
    current = {
        s: expected_keys(params["profile"], s, params["seeds"], params["overrides"])
        for s in studies
    }
    pairs = list(zip(runs["study"], runs["key"], strict=True))
    kept_lr = {
        s: kept_rates(params["profile"], s, params["seeds"], params["overrides"]) for s in studies
    }
    runs = runs.assign(
        role=[current[study].get(key) for study, key in pairs],
        kept_lr=[kept_lr[study].get(key, float("nan")) for study, key in pairs],
    )
    stale = int(runs["role"].isna().sum())
    runs = runs[runs["role"].notna()].reset_index(drop=True)
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    kept = set(runs["key"])
    history = _only(collect_history(RUNS, studies), kept)
    _write(out, "runs.csv", runs)
    _write(out, "probes.csv", _only(collect_probes(RUNS, studies), kept))
    _write(out, "history.csv", history)
    grid = runs[runs["role"] == "grid"]  # the rate-search runs are in runs.csv, not in these
    _write(out, "main_effects.csv", main_effects(grid))
    _write(out, "learning_curves.csv", learning_curves(grid, history))
    _json(out, "metrics.json", headline(runs, grid))  # compute: every run the report uses
    _json(out, "studies.json", per_study(grid))
    _json(out, "tuned_lr.json", tuned_tables(studies))
    importance, trainable = importance_table(grid), trainability_table(grid)
    _write(out, "importance.csv", importance)
    _write(out, "trainability.csv", trainable)
    _json(out, "importance.json", as_metrics(importance, trainable))
    print(
        f"aggregate: {len(runs)} runs -> {out / 'runs.csv'}; {len(problems)} unreadable and "
        f"{stale} outside the current grids left out"
    )


if __name__ == "__main__":
    main()
