"""`python -m ablate.bench`: how fast the project trains, measured against its limits.

Writes reports/bench.md and reports/bench.json; `--gpu` runs the GPU check instead
(`ablate.bench.gpu`: reports/bench_gpu.md and .json). Every figure is a median of repeated
measurements taken side by side in this process (the machines are shared and noisy, so
ratios measured together mean more than any single absolute time).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ablate.config import compose
from ablate.data.datamodule import TensorDataModule
from ablate.io import atomic_write_text
from ablate.models import build_model
from ablate.training.run import run

REPO = Path(__file__).resolve().parents[3]


def _cfg(runs: Path, *overrides: str):
    return compose([f"runs_dir={runs}", "probes.enabled=false", "quiet=true", *overrides])


def evaluate(net: torch.nn.Module, batches) -> float:
    """Accuracy, summed on the host per batch as the project's module does."""
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in batches:
            logits = net(x)
            F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            total += len(y)
    net.train()
    return correct / total


def plain_loop(cfg) -> dict[str, float]:
    """The same training as a run of this project, as a minimal hand-written loop: same
    model, memory layout, data tensors, batches, optimiser, step budget (or epochs),
    per-epoch validation and test."""
    start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    dm = TensorDataModule(cfg.data, seed=cfg.seed)
    dm.setup()
    net = build_model(cfg.model, dm.input_shape, dm.num_classes)
    if cfg.trainer.channels_last:
        net = net.to(memory_format=torch.channels_last)
        dm.to_channels_last()
    o = cfg.optim
    opt = (
        torch.optim.SGD(net.parameters(), lr=o.lr, momentum=o.momentum)
        if o.name == "sgd"
        else torch.optim.Adam(net.parameters(), lr=o.lr)
    )
    budget = cfg.trainer.max_steps if cfg.trainer.max_steps > 0 else None
    steps, epochs = 0, 0
    fit_start = time.perf_counter()
    while (steps < budget) if budget else (epochs < cfg.trainer.max_epochs):
        for x, y in dm.train_dataloader():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.item()  # the project checks every loss for divergence; so does this loop
            loss.backward()
            opt.step()
            steps += 1
            if budget and steps >= budget:
                break
        epochs += 1
        evaluate(net, dm.val_dataloader())
    fit = time.perf_counter() - fit_start
    evaluate(net, dm.test_dataloader())
    return {"fit_s": fit, "run_s": time.perf_counter() - start, "steps": steps}


def lightning_run(cfg, runs: Path) -> dict[str, float]:
    shutil.rmtree(runs, ignore_errors=True)
    start = time.perf_counter()
    result = run(cfg)
    return {
        "fit_s": result["fit_time_s"],
        "run_s": time.perf_counter() - start,
        "wall_s": result["wall_time_s"],
        "images_per_s": result["train_images_per_s"],
        "flops": result["flops_per_image"],
    }


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def step_ms(cfg, channels_last: bool, bf16: bool, steps: int = 40) -> float:
    """Median time of one SGD step of the cell's net on one batch, for a memory layout and
    precision: what the cpu profile's `trainer.channels_last` and `trainer.precision` buy."""
    torch.manual_seed(0)
    net = build_model(cfg.model, (1, 28, 28), 10)
    x, y = torch.randn(cfg.data.batch_size, 1, 28, 28), torch.randint(0, 10, (cfg.data.batch_size,))
    if channels_last:
        net, x = (
            net.to(memory_format=torch.channels_last),
            x.contiguous(memory_format=torch.channels_last),
        )
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    times = []
    for i in range(steps + 5):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 5:  # the first steps pick kernels
            times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


LAYOUT_CELLS = {
    "plain, maxpool, BN": ["model.arch=plain", "model.downsampling=maxpool", "model.norm=batch"],
    "resnet, conv_layer, no BN": [
        "model.arch=resnet",
        "model.downsampling=conv_layer",
        "model.norm=none",
    ],
}
LAYOUTS = {"NCHW fp32": (False, False), "NHWC fp32": (True, False), "NHWC bf16": (True, True)}


def layouts(reps: int, tmp: Path) -> dict[str, dict[str, float]]:
    """Step time per layout and precision, alternated per repetition (shared machines)."""
    out = {}
    for cell, overrides in LAYOUT_CELLS.items():
        cfg = _cfg(tmp / "runs", "study=main", "optim.lr=0.1", *overrides)
        times: dict[str, list[float]] = {name: [] for name in LAYOUTS}
        for _ in range(reps):
            for name, (channels_last, bf16) in LAYOUTS.items():
                times[name].append(step_ms(cfg, channels_last, bf16))
        out[cell] = {name: statistics.median(t) for name, t in times.items()}
    return out


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def compare(reps: int, tmp: Path, threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    cfg = _cfg(tmp / "runs", f"trainer.threads={threads}")
    lit, plain = [], []
    lightning_run(cfg, tmp / "runs")  # warm-up: first-call costs are not per-run costs
    plain_loop(cfg)
    for _ in range(reps):  # alternate, so drift on a shared machine hits both alike
        lit.append(lightning_run(cfg, tmp / "runs"))
        plain.append(plain_loop(cfg))
    flops = lit[0]["flops"] * 3  # forward + backward, per training image
    images_s = _median(lit, "images_per_s")
    return {
        "fit_ratio": _median(lit, "fit_s") / _median(plain, "fit_s"),
        "run_ratio": _median(lit, "run_s") / _median(plain, "run_s"),
        "lightning_fit_s": _median(lit, "fit_s"),
        "plain_fit_s": _median(plain, "fit_s"),
        "overhead_s": _median([{"v": r["run_s"] - r["fit_s"]} for r in lit], "v"),
        "images_per_s": images_s,
        "gflops": flops * images_s / 1e9,
        "matmul_gflops": matmul_gflops(),
    }


def overhead_with_probes(reps: int, tmp: Path) -> float:
    cfg = compose([f"runs_dir={tmp / 'runs'}", "quiet=true"])
    rows = [lightning_run(cfg, tmp / "runs") for _ in range(reps)]
    return _median([{"v": r["run_s"] - r["fit_s"]} for r in rows], "v")


def wandb_cost(reps: int, tmp: Path) -> float:
    """Extra seconds per run that W&B offline logging costs, after its first run."""
    import os

    here = Path.cwd()
    os.chdir(tmp)  # W&B writes ./wandb/
    try:
        times: dict[str, list[float]] = {"disabled": [], "offline": []}
        for _ in range(reps + 1):
            for mode in times:
                cfg = compose([f"runs_dir={tmp / 'runs'}", "quiet=true", f"wandb={mode}"])
                times[mode].append(lightning_run(cfg, tmp / "runs")["run_s"])
    finally:
        os.chdir(here)
    return statistics.median(times["offline"][1:]) - statistics.median(times["disabled"][1:])


def scaling(tmp: Path) -> dict[str, Any]:
    """Time per run against its step budget and against width, with the fitted exponent."""
    out: dict[str, Any] = {}
    for axis, values in (("trainer.max_steps", [100, 200, 400]), ("model.width", [4, 8, 16])):
        times = []
        for value in values:
            cfg = _cfg(tmp / "runs", f"{axis}={value}")
            times.append(
                statistics.median(lightning_run(cfg, tmp / "runs")["fit_s"] for _ in range(3))
            )
        slope = float(np.polyfit(np.log(values), np.log(times), 1)[0])
        out[axis] = {"values": values, "fit_s": times, "exponent": slope}
    return out


def sweep_rate(tmp: Path, args: list[str], label: str) -> dict[str, float]:
    cmd = [
        sys.executable,
        "-m",
        "ablate.train",
        "-m",
        f"runs_dir={tmp / label}",
        "quiet=true",
        *args,
    ]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    n = len(list((tmp / label).glob("*/*/result.json")))
    return {"runs": n, "seconds": seconds, "runs_per_min": 60 * n / seconds}


def noop_repro(reps: int = 3, repo: Path = REPO) -> float | None:
    """Median time of a `dvc repro` with nothing to do; None unless `dvc status` finds the
    pipeline up to date, since a repro there would run the stages it lists (on a clone
    without runs, the whole pipeline) and rewrite dvc.lock."""
    dvc = shutil.which("dvc")
    if not dvc or not (repo / "dvc.lock").exists():
        return None
    if subprocess.run([dvc, "status", "--quiet"], cwd=repo, check=False).returncode != 0:
        return None
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        subprocess.run([dvc, "repro"], cwd=repo, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render(b: dict[str, Any]) -> str:
    c, s = b["compare"], b["scaling"]
    lines = [
        "# Benchmark",
        "",
        f"Generated by `python -m ablate.bench` on {b['machine']}, torch {b['torch']}, "
        f"{b['threads']} thread(s). Medians of {b['reps']} repetitions, taken side by side.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| Lightning run / plain PyTorch loop, fit time | {c['fit_ratio']:.2f} | ≤ 1.10 |",
        f"| Lightning run / plain PyTorch loop, whole run | {c['run_ratio']:.2f} | ≤ 1.10 |",
        f"| fit time, Lightning / plain (s) | {c['lightning_fit_s']:.2f} / "
        f"{c['plain_fit_s']:.2f} | |",
        f"| train throughput (images/s) | {c['images_per_s']:.0f} | |",
        f"| achieved GFLOP/s (3 x forward FLOPs x images/s) | {c['gflops']:.1f} | |",
        f"| float32 2048² matmul GFLOP/s (ceiling) | {c['matmul_gflops']:.1f} | |",
        f"| share of the matmul ceiling | {c['gflops'] / c['matmul_gflops']:.1%} | |",
        f"| fixed per-run overhead, no probes (s) | {c['overhead_s']:.2f} | < 0.5 |",
        f"| fixed per-run overhead, with probes (s) | {b['overhead_probes_s']:.2f} | |",
        f"| extra per run for W&B offline (s) | {b['wandb_offline_s']:.2f} | |",
        f"| smoke grid, one process (runs/min) | {b['smoke']['runs_per_min']:.1f} | |",
        f"| 8 cpu-profile cells, 2 joblib workers, start-up included (runs/min) | "
        f"{b['cpu']['runs_per_min']:.1f} | |",
        f"| no-op `dvc repro` (s; — where `dvc status` lists work) | {_fmt(b['noop_repro_s'])} | |",
        "",
        "How the cost of one run grows (fit time, seconds):",
        "",
        "| axis | values | fit s | fitted exponent |",
        "|---|---|---|---|",
    ]
    for axis, row in s.items():
        lines.append(
            f"| {axis} | {row['values']} | "
            f"{', '.join(f'{t:.2f}' for t in row['fit_s'])} | {row['exponent']:.2f} |"
        )
    lines += [
        "",
        "One SGD step of a cpu-profile cell (batch of 64, width 8, one thread), median ms, "
        "by memory layout and precision:",
        "",
        "| cell | " + " | ".join(LAYOUTS) + " | NCHW / NHWC fp32 |",
        "|---|" + "---|" * (len(LAYOUTS) + 1),
    ]
    for cell, row in b["layouts"].items():
        lines.append(
            f"| {cell} | "
            + " | ".join(f"{row[name]:.1f}" for name in LAYOUTS)
            + f" | {row['NCHW fp32'] / row['NHWC fp32']:.2f} |"
        )
    lines += [
        "",
        "The cpu profile trains NHWC in fp32 (`trainer.channels_last: true`): the same "
        "arithmetic in another memory order. bf16 autocast is not used: it changes the "
        "numbers the probes read (gradient norms down to 1e-12), for a gain shown above.",
        "",
        "Sweep rates include process start-up (imports) and Hydra's composition of "
        "every job. GPU: see the GPU section of the README for how to measure there.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gpu", action="store_true", help="the GPU check (ablate.bench.gpu)")
    parser.add_argument(
        "--where",
        action="store_true",
        help="where the pipeline's time went, per study, from results/<profile>/runs.csv",
    )
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "reports")
    args, rest = parser.parse_known_args(argv)
    if args.gpu:
        from ablate.bench import gpu

        sys.exit(gpu.main([*rest, "--out", str(args.out)]))
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    if args.where:
        from ablate.analysis.timing import render_time, time_per_study
        from ablate.sweep.params import load_params

        profile = load_params(REPO / "params.yaml")["profile"]
        runs = pd.read_csv(REPO / "results" / profile / "runs.csv")
        sys.stdout.write(render_time(time_per_study(runs)))
        return
    torch.set_flush_denormal(True)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        bench: dict[str, Any] = {
            "machine": f"{platform.machine()} {platform.processor() or ''} "
            f"({torch.get_num_threads()} torch threads available)".strip(),
            "torch": torch.__version__,
            "threads": args.threads,
            "reps": args.reps,
        }
        bench["compare"] = compare(args.reps, tmp, args.threads)
        bench["overhead_probes_s"] = overhead_with_probes(args.reps, tmp)
        bench["wandb_offline_s"] = wandb_cost(3, tmp)
        bench["scaling"] = scaling(tmp)
        bench["layouts"] = layouts(args.reps, tmp)
        # The main study tunes its rate per arm; a fixed rate times the same cells.
        bench["smoke"] = sweep_rate(tmp, ["study=main", "profile=smoke", "optim.lr=0.1"], "smoke")
        bench["cpu"] = sweep_rate(
            tmp,
            [
                "study=main",
                "model.arch=plain,resnet",
                "model.init=kaiming",
                "model.downsampling=maxpool",
                "model.activation=relu,tanh",
                "optim.lr=0.1",
            ],
            "cpu",
        )
        bench["noop_repro_s"] = noop_repro()
    text = render(bench)
    atomic_write_text(args.out / "bench.md", text)
    atomic_write_text(args.out / "bench.json", json.dumps(bench, indent=2, default=float))
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
