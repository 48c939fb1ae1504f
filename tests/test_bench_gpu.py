"""The GPU check: its no-GPU path, its process orchestration on CPU, and the projection
arithmetic with made-up measurements."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ablate.bench import gpu as bench_gpu
from ablate.bench.projection import (
    Level,
    StudyCost,
    flops_arithmetic,
    flops_hours,
    measured_hours,
    needed_utilisation,
    study_cost,
)
from ablate.data import cifar

from .conftest import REPO


def test_without_a_gpu_it_says_so_in_one_line_and_exits_0(tmp_path: Path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "ablate.bench", "--gpu", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines() == [
        "no CUDA GPU here: the GPU check measures nothing (run it on a GPU machine)"
    ]
    assert list(tmp_path.iterdir()) == []


COSTS = [StudyCost("a", 10, 2, 1000, 1e6), StudyCost("b", 30, 4, 500, 2e6)]  # 80,000 images


def test_measured_projection_uses_the_best_summed_rate_and_shares_fixed_cost():
    levels = [
        Level(1, (400.0,), fixed_s=2.0),
        Level(2, (300.0, 300.0), fixed_s=3.0),  # 600/s in total: the best
        Level(4, (100.0, 100.0, 100.0, 150.0), fixed_s=5.0),  # 450/s
    ]
    p = measured_hours(COSTS, levels)
    assert p["concurrency"] == 2 and p["images"] == 10 * 2 * 1000 + 30 * 4 * 500
    assert p["fit_hours"] == pytest.approx(80_000 / 600 / 3600)
    assert p["fixed_hours"] == pytest.approx(40 * 3.0 / 2 / 3600)  # 40 runs over 2 slots
    assert p["hours"] == pytest.approx(p["fit_hours"] + p["fixed_hours"])


def test_flops_projection_is_three_times_forward_over_peak_times_utilisation():
    flops = 3 * (10 * 2 * 1000 * 1e6 + 30 * 4 * 500 * 2e6)  # 4.2e11
    assert flops_hours(COSTS, 1.0, 0.5) == pytest.approx(flops / 0.5e12 / 3600)
    assert needed_utilisation(COSTS, 1.0, flops_hours(COSTS, 1.0, 0.5)) == pytest.approx(0.5)
    text = flops_arithmetic(COSTS, 1.0, 0.5)
    assert "a: 10 runs x 1,000 images x 2 epochs x 1.0 MFLOP/image x 3" in text
    assert text.splitlines()[-1].endswith(
        f"= {flops / 0.5e12:,.0f} s = {flops / 0.5e12 / 3600:.2f} h"
    )
    with pytest.raises(ValueError):
        flops_hours(COSTS, 1.0, 0.0)


def test_study_cost_counts_the_gpu_grid():
    cost = study_cost("gpu", "bottleneck")  # reduction x match_flops x 3 seeds, CIFAR-10
    assert cost.jobs == 3 * 2 * 3 and cost.epochs == 30 and cost.train_images == 45_000
    assert cost.flops_per_image > 1e6


def test_synthetic_archive_is_cifar_format_and_learnable(tmp_path: Path):
    path = tmp_path / cifar.FILENAME
    sha = bench_gpu.synthetic_archive(path, n_train=500, n_test=100)
    images = cifar.load_cifar10(tmp_path, url="http://127.0.0.1:9/none", sha256=sha)
    assert images.x.shape == (500, 32, 32, 3) and images.test[0].shape == (100, 32, 32, 3)
    x = images.x.reshape(500, -1).astype(float)
    means = [x[images.y == c].mean(0) for c in range(10)]  # nearest class mean classifies
    xt = images.test[0].reshape(100, -1).astype(float)
    guess = [min(range(10), key=lambda c: ((row - means[c]) ** 2).sum()) for row in xt]
    assert (guess == images.test[1]).mean() > 0.5


def test_workers_start_together_and_report_on_cpu(tmp_path: Path, data_root: Path):
    """The GPU check's processes, barrier and records, run with the smoke profile on CPU."""
    cell = ["profile=smoke", "probes.enabled=false", "quiet=true", f"data.root={data_root}"]
    runs = [[*cell, "trainer.threads=1", f"seed={i}"] for i in range(2)]
    measured = bench_gpu.launch(tmp_path, "n2", runs, time.time() + 300)
    assert "error" not in measured and len(measured["runs"]) == 2
    starts = [r["start"] for r in measured["runs"]]
    assert max(starts) - min(starts) < 1.0  # released together
    level = bench_gpu.level(measured)
    assert level is not None and level.n == 2 and level.total_images_s > 0
    text = bench_gpu.render(
        {
            "device": "cpu",
            "torch": "x",
            "seconds": 1.0,
            "data": "digits",
            "cell": cell,
            "epochs": 1,
            "levels": [measured, {"name": "n4", "error": "past the time budget"}],
            "epoch_s": 0.5,
            "precision": {"runs": measured["runs"]},
            "projection": measured_hours(COSTS, [level]),
            "flops_arithmetic": flops_arithmetic(COSTS, 1.0, 0.5),
        }
    )
    median = statistics.median(level.per_run_images_s)
    assert f"| 2 | {median:.0f} | {level.total_images_s:.0f} |" in text
    assert "| n4 | not measured: past the time budget |" in text
    assert "Projected wall time of the whole gpu grid" in text
