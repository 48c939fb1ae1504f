"""Accuracy marks set beforehand: each mark's reference control, trained on seeds no study uses.

    python -m ablate.sweep.calibrate [--profile cpu] [--kinds conv mlp] [--seeds 4] [overrides...]

A study's control must reach its kind's mark (`data.marks`). A mark read off the studies'
own runs would judge those runs by themselves; this command trains each kind's reference
control (REFERENCES: the study whose control arm is that kind of net) exactly as that
study's grid trains it under the profile (its sized levels, budget and searched rate), but
on seeds FIRST_SEED.. (1000-1003 by default; studies use seeds 0..N-1, N <= 100), into
runs/calibration/. It prints each kind's mean test accuracy and the lower bound of its 95%
CI: a mark is set at or below that bound. A tuned study's rate is its arm's rate from its
search table (runs/<study>/tuned_lr.json, else the aggregated results/tuned_lr.json), so
run it after the studies' rate searches.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from ablate.analysis.stats import Estimate, mean_ci
from ablate.cli import exit_on_input_error
from ablate.config import compose
from ablate.errors import ConfigError
from ablate.sweep.params import PROFILES

# Kind of net -> the study whose control arm of that kind is the reference.
REFERENCES = {
    "conv": "main",
    "conv_nobn": "main",
    "mlp": "depth_init",
    "deep_mlp": "depth_init",
    "very_deep_mlp": "init_depth30",
    "tiny": "overfit_tiny",
}
FIRST_SEED = 1000  # past params.MAX_SEEDS: no study's seed
RUNS_DIR = "runs/calibration"


def reference_jobs(
    profile: str,
    kind: str,
    seeds: Sequence[int],
    overrides: Sequence[str] = (),
    runs: Path = Path("runs"),
    results: Path = Path("results"),
) -> list[DictConfig]:
    """The configs that calibrate `kind`: its reference control cell of its study's grid
    under `profile`, at `seeds`, with a tuned study's searched rate filled in."""
    from ablate.sweep.grid import control_cell, job_configs, study_grid
    from ablate.sweep.lr_search import arm_id, arm_of

    if kind not in REFERENCES:
        raise ConfigError(f"kind {kind!r} has no reference; choose from: {', '.join(REFERENCES)}")
    study = REFERENCES[kind]
    grid = study_grid(profile, study, None, overrides)
    cfg = compose([f"profile={profile}", f"study={study}", *overrides])
    arms = [dict(a) for a in cfg.study.controls if a.get("mark", cfg.study.mark) == kind]
    cell = control_cell(grid, cfg, arms[0]) if arms else None
    if cell is None:
        raise ConfigError(f"study {study!r} has no control of kind {kind!r} in its grid")
    cell["seed"] = ",".join(str(seed) for seed in seeds)
    jobs = list(job_configs(profile, study, cell, [f"runs_dir={RUNS_DIR}", *overrides]))
    if cfg.study.tune.lr and "optim.lr" not in grid:
        table = _search_table(study, runs, results)
        for job in jobs:
            arm = arm_id(arm_of(job, list(cfg.study.tune.by)))
            OmegaConf.update(job, "optim.lr", float(table["arms"][arm]["lr"]), merge=False)
    return jobs


def _search_table(study: str, runs: Path, results: Path) -> dict:
    try:
        return json.loads((runs / study / "tuned_lr.json").read_text())
    except (OSError, ValueError):
        pass
    try:
        return json.loads((results / "tuned_lr.json").read_text())[study]
    except (OSError, ValueError, KeyError):
        raise ConfigError(
            f"study {study!r} tunes its rate and has no search table (runs/{study}/"
            f"tuned_lr.json or results/tuned_lr.json): run its sweep first"
        ) from None


def calibrate(
    profile: str, kinds: Sequence[str], seeds: Sequence[int], overrides: Sequence[str] = ()
) -> dict[str, Estimate]:
    """Train (or reuse, by run key) every kind's reference runs; each kind's test accuracy
    over its seeds, a run that did not finish counting as 0."""
    from ablate.training.run import run

    found = {}
    for kind in kinds:
        results = [run(job) for job in reference_jobs(profile, kind, seeds, overrides)]
        accs = [(r.get("test_acc") or 0.0) if r.get("status") == "ok" else 0.0 for r in results]
        found[kind] = mean_ci(pd.Series(accs, name="test_acc"))
    return found


@exit_on_input_error
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu", choices=PROFILES)
    parser.add_argument("--kinds", nargs="+", default=list(REFERENCES), choices=list(REFERENCES))
    parser.add_argument("--seeds", type=int, default=4, help="how many, from 1000")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run")
    args = parser.parse_args(argv)
    seeds = range(FIRST_SEED, FIRST_SEED + args.seeds)
    found = calibrate(args.profile, args.kinds, seeds, args.overrides)
    print(f"calibration ({args.profile}, seeds {seeds[0]}-{seeds[-1]}): kind, mean, 95% lower")
    for kind, est in found.items():
        print(f"{kind}: {est.mean:.3f} {est.lo:.3f} (n={est.n})")


if __name__ == "__main__":
    main()
