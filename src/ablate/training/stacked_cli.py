"""`python -m ablate.training.stacked_cli`: train a grid's same-shape cells stacked in one
process.

    python -m ablate.training.stacked_cli profile=smoke probes.enabled=false optim=sgd \\
        seed=0,1,2 optim.lr=0.01,0.1 --out stacked.json
    python -m ablate.training.stacked_cli --bench 1,2,4,8 profile=gpu \\
        trainer.channels_last=false trainer.max_steps=300 probes.enabled=false optim=sgd

Overrides take Hydra's sweep syntax; the grid is grouped by shape (`stacked.py`)
and each group trains as one stack. The results are printed (and written to `--out`), not
filed under runs/: a stack's numbers match separate runs only to float rounding, so the
pipeline's run folders stay the separate path's. `--bench` times stacked against separate
training of the first cell's shape for each M, in training images per second.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ablate.cli import exit_on_input_error
from ablate.config import compose, validate
from ablate.io import atomic_write_text


def grid(overrides: Sequence[str]) -> list[DictConfig]:
    """One composed config per combination of the overrides' levels."""
    from ablate.sweep.grid import expand

    levels = expand(dict(text.split("=", 1) for text in overrides))
    cfgs = [
        compose([f"{k}={v}" for k, v in zip(levels, combo, strict=True)])
        for combo in itertools.product(*levels.values())
    ]
    for cfg in cfgs:
        validate(cfg)
    return cfgs


def bench(cfg: DictConfig, sizes: Sequence[int]) -> list[dict[str, Any]]:
    """Training images/s of M runs stacked and of the same M runs one after another."""
    from ablate.training.stacked import train_stacked

    rows = []
    for m in sizes:
        cfgs = [cfg.copy() for _ in range(m)]
        for seed, each in enumerate(cfgs):
            each.seed = seed
        images = sum(r["steps"] for r in train_stacked(cfgs[:1])) * cfg.data.batch_size * m
        start = time.perf_counter()
        for each in cfgs:
            train_stacked([each])
        separate = time.perf_counter() - start
        start = time.perf_counter()
        train_stacked(cfgs)
        stacked = time.perf_counter() - start
        rows.append(
            {
                "M": m,
                "separate_images_per_s": images / separate,
                "stacked_images_per_s": images / stacked,
            }
        )
    return rows


@exit_on_input_error
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides; a,b,c sweeps an axis")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    parser.add_argument("--bench", help="time stacked vs separate for these M, e.g. 1,2,4,8")
    args = parser.parse_args(argv)
    from ablate.training.stacked import group_by_shape, train_stacked

    cfgs = grid(args.overrides)
    if args.bench:
        results: list[dict[str, Any]] = bench(cfgs[0], [int(m) for m in args.bench.split(",")])
        for row in results:
            print(
                f"M={row['M']}: separate {row['separate_images_per_s']:.0f} img/s, "
                f"stacked {row['stacked_images_per_s']:.0f} img/s"
            )
    else:
        results = [r for group in group_by_shape(cfgs) for r in train_stacked(group)]
        for r in results:
            acc = r.get("test_acc", float("nan"))
            cell = f"{r['config_key']} seed={r['seed']} lr={r['lr']:g}"
            print(f"{cell} {r['status']} test_acc={acc:.4f}")
    if args.out:
        atomic_write_text(args.out, json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main(sys.argv[1:])
