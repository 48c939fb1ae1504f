"""Synthetic run tables shaped like results/runs.csv for the activation sections: the
studies that decide A2 (sigmoid_offset), A4 (dead_units) and A5 (relu_properties, main)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ablate.report.context import Context

BASE = {
    "status": "ok",
    "init": "kaiming",
    "norm": "none",
    "arch": "mlp",
    "width": 128,
    "depth": 10,
    "dataset": "mnist5k",
    "preprocessing": "standardize",
    "fold": 0,
    "train_limit": 3600,
    "batch_size": 128,
    "optimizer": "sgd",
    "max_epochs": 3,
    "max_steps": 500,
    "schedule": "warmup_cosine",
    "stopped": None,
    "role": "grid",
    "classes": 10,
    "majority_acc": 0.118,
    "test_loss": 0.3,
    "test_classes_predicted": 10,
}


def _run(study: str, i: int, **values) -> dict:
    return {**BASE, "study": study, "key": f"{study}{i:04d}", **values}


def relu_properties(steps: dict[str, float], seeds: int = 6) -> list[dict]:
    """Each activation's steps to the loss threshold (NaN: never), with seed noise."""
    rng = np.random.default_rng(0)
    rows = []
    for act, s in steps.items():
        for seed in range(seeds):
            got = s * 2 ** rng.normal(0, 0.05) if np.isfinite(s) else np.nan
            acc = 0.93 if np.isfinite(s) else 0.5
            rows.append(
                _run(
                    "relu_properties",
                    len(rows),
                    seed=seed,
                    activation=act,
                    lr=0.03,
                    steps_to_loss=got,
                    test_acc=acc + rng.normal(0, 0.002),
                    val_acc=acc,
                    probe_zero_frac_init=0.5 if act == "relu" else 0.0,
                )
            )
    return rows


def main_grid(relu_minus_tanh: float, seeds: int = 2) -> list[dict]:
    rows = []
    for norm in ("batch", "none"):
        for arch in ("plain", "resnet"):
            for down in ("maxpool", "strided_conv"):
                for seed in range(seeds):
                    for act, acc in (("relu", 0.95 + relu_minus_tanh), ("tanh", 0.95)):
                        rows.append(
                            _run(
                                "main",
                                len(rows),
                                seed=seed,
                                activation=act,
                                norm=norm,
                                arch=arch,
                                downsampling=down,
                                lr=0.03,
                                test_acc=acc + 0.001 * seed,
                                val_acc=acc,
                            )
                        )
    return rows


def dead_units(acc: dict[tuple[str, float], float], dead: dict[float, float], seeds: int = 8):
    """Per (activation, rate) accuracy (NaN: diverged); ReLU's dead share per rate."""
    rng = np.random.default_rng(1)
    rows = []
    for (act, lr), a in acc.items():
        for seed in range(seeds):
            diverged = not np.isfinite(a)
            rows.append(
                _run(
                    "dead_units",
                    len(rows),
                    seed=seed,
                    activation=act,
                    arch="plain",
                    lr=lr,
                    status="diverged" if diverged else "ok",
                    test_acc=np.nan if diverged else a + rng.normal(0, 0.002),
                    majority_acc=np.nan if diverged else 0.118,
                    val_acc=a,
                    probe_dead_frac_end=(dead[lr] if act == "relu" else 0.0) + rng.uniform(0, 0.01),
                )
            )
    return rows


def sigmoid_offset(acc: dict[tuple[int, str], float], seeds: int = 6) -> list[dict]:
    rng = np.random.default_rng(2)
    return [
        _run(
            "sigmoid_offset",
            i * seeds + seed,
            seed=seed,
            activation=act,
            depth=depth,
            lr=0.1,
            test_acc=a + rng.normal(0, 0.002),
            val_acc=a,
        )
        for i, ((depth, act), a) in enumerate(acc.items())
        for seed in range(seeds)
    ]


def context(rows: list[dict], out: Path) -> Context:
    runs = pd.DataFrame(rows)
    studies = sorted(runs["study"].unique())
    return Context(runs, {"studies": studies, "profile": "cpu"}, out)
