"""`python -m ablate.choices`: every study, axis and valid value, from the same registries
and configs the schema checks against, so what it lists is exactly what a run accepts."""

from __future__ import annotations

import sys

from ablate.config import OPTIMIZERS, PREPROCESSING, WANDB_MODES, compose
from ablate.data.sources import SOURCES
from ablate.models import ACTIVATIONS, ARCHITECTURES, DOWNSAMPLING, INITS, NORM_POSITIONS, NORMS
from ablate.sweep.params import PROFILES, STUDIES

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


def describe() -> str:
    lines = ["Axes (python -m ablate.train <axis>=<value>, or -m <axis>=a,b for a grid):"]
    lines += [f"  {axis:<22} {', '.join(values)}" for axis, values in AXES.items()]
    lines += [
        "  model.width, model.depth, model.stages: positive integers; model.stem: "
        "k<kernel>s<stride>p<padding>",
        "",
        f"Profiles (profile=...): {', '.join(PROFILES)}",
        "",
        "Studies (study=..., or dvc repro sweep@<study>):",
    ]
    for study in STUDIES:
        cfg = compose([f"study={study}"], with_hydra=True)
        grid = dict(cfg.hydra.sweeper.params or {})
        questions = ", ".join(cfg.study.questions) or "-"
        lines.append(f"  {study:<16} answers {questions}")
        lines += [f"    {axis} = {levels}" for axis, levels in grid.items()]
    lines += [
        "",
        "Full config of one run: python -m ablate.train --cfg job",
        "Hydra's own help:      python -m ablate.train --help",
    ]
    return "\n".join(lines)


def main() -> None:
    sys.stdout.write(describe() + "\n")


if __name__ == "__main__":
    main()
