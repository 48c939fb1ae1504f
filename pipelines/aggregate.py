"""DVC stage `aggregate`: runs/<study>/*/ -> results/runs.csv, probes.csv, history.csv and
metrics.json (the headline numbers for `dvc metrics show`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from ablate.analysis.collect import collect, collect_history, collect_probes
from ablate.analysis.metrics import headline
from ablate.analysis.plots import learning_curves, main_effects
from ablate.cli import exit_on_input_error
from ablate.io import atomic_write_text, clean_stale_temps
from ablate.params import load_params

OUT = Path("results")


@exit_on_input_error
def main() -> None:
    params = load_params()
    clean_stale_temps(OUT)
    runs, problems = collect("runs", params["studies"])
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    atomic_write_text(OUT / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(
        OUT / "probes.csv", collect_probes("runs", params["studies"]).to_csv(index=False)
    )
    atomic_write_text(
        OUT / "history.csv", collect_history("runs", params["studies"]).to_csv(index=False)
    )
    atomic_write_text(OUT / "main_effects.csv", main_effects(runs).to_csv(index=False))
    history = pd.read_csv(OUT / "history.csv") if (OUT / "history.csv").stat().st_size else None
    curves = learning_curves(runs, history if history is not None else pd.DataFrame())
    atomic_write_text(OUT / "learning_curves.csv", curves.to_csv(index=False))
    atomic_write_text(OUT / "metrics.json", json.dumps(headline(runs), indent=2) + "\n")
    print(f"aggregate: {len(runs)} runs -> {OUT / 'runs.csv'} ({len(problems)} skipped)")


if __name__ == "__main__":
    main()
