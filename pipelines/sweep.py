"""DVC stage `sweep@<study>`: run one study's grid as a Hydra multirun.

    python pipelines/sweep.py <study> [extra Hydra overrides, e.g. hydra/launcher=joblib]

Finished runs (by run key) are skipped, so rerunning the stage only fills the gaps.
"""

from __future__ import annotations

import sys

from ablate.cli import exit_on_input_error
from ablate.sweep.grid import run_sweep
from ablate.sweep.params import load_params


@exit_on_input_error
def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python pipelines/sweep.py <study> [hydra overrides...]")
    params = load_params()
    run_sweep(
        params["profile"],
        argv[0],
        params["seeds"],
        params["wandb"],
        argv[1:],
        params["overrides"],
        reuse_runs=params["reuse_runs"],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
