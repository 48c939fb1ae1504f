"""`python -m ablate.choices [profile=<name>]`: every axis and valid value, from the same
registries and configs the schema checks against, so what it lists is exactly what a run
accepts; and every study's grid as the pipeline runs it under the active profile (params.yaml's,
or the one named): the profile's levels and seeds, not only the study file's."""

from __future__ import annotations

import sys
from pathlib import Path

from ablate.cli import exit_on_input_error
from ablate.config import OPTIMIZERS, PREPROCESSING, WANDB_MODES, compose
from ablate.data.sources import SOURCES
from ablate.errors import ConfigError
from ablate.models import ACTIVATIONS, ARCHITECTURES, DOWNSAMPLING, INITS, NORM_POSITIONS, NORMS
from ablate.sweep.grid import study_grid
from ablate.sweep.params import PROFILES, STUDIES, load_params

AXES: dict[str, list[str]] = {
    "model.activation": ACTIVATIONS.names(),
    "model.init": INITS.names(),
    "model.norm": NORMS.names(),
    "model.norm_position": list(NORM_POSITIONS),
    "model.downsampling": DOWNSAMPLING.names(),
    "model.arch": ARCHITECTURES.names(),
    "data.name": SOURCES.names(),
    "data.preprocessing": list(PREPROCESSING),
    "optim.name": list(OPTIMIZERS),
    "wandb": list(WANDB_MODES),
}


def active_profile(params: Path = Path("params.yaml")) -> str:
    """params.yaml's profile where there is one, else the default `cpu`."""
    return load_params(params)["profile"] if params.is_file() else "cpu"


def describe(profile: str | None = None) -> str:
    profile = profile or active_profile()
    if profile not in PROFILES:
        raise ConfigError(f"profile={profile!r} is not valid; choose one of: {', '.join(PROFILES)}")
    lines = ["Axes (python -m ablate.train <axis>=<value>, or -m <axis>=a,b for a grid):"]
    lines += [f"  {axis:<22} {', '.join(values)}" for axis, values in AXES.items()]
    lines += [
        "  model.width, model.depth, model.stages: positive integers; model.stem: "
        "k<kernel>s<stride>p<padding>",
        "",
        f"Profiles (profile=...): {', '.join(PROFILES)}",
        "",
        f"Studies as profile `{profile}` runs them (dvc repro sweep@<study>, or by hand "
        "python pipelines/sweep.py <study> runs_dir=runs/hand; another profile: "
        "python -m ablate.choices profile=<name>):",
    ]
    for study in STUDIES:
        cfg = compose([f"study={study}"], with_hydra=True)
        questions = ", ".join(cfg.study.questions) or "-"
        if not cfg.hydra.sweeper.params:
            lines.append(f"  {study:<16} no grid: the study of single runs by hand")
            continue
        grid = study_grid(profile, study, None)
        seeds = grid.pop("seed").removeprefix("range(0,").removesuffix(")")
        lines.append(f"  {study:<16} answers {questions}; {seeds} seed(s) per cell")
        lines += [f"    {axis} = {levels}" for axis, levels in grid.items()]
    lines += [
        "",
        "Full config of one run: python -m ablate.train --cfg job",
        "Hydra's own help:      python -m ablate.train --help",
    ]
    return "\n".join(lines)


@exit_on_input_error
def main(argv: list[str]) -> None:
    named = [a.split("=", 1)[1] for a in argv if a.startswith("profile=")]
    sys.stdout.write(describe(named[-1] if named else None) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
