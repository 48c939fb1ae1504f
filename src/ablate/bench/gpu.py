"""`python -m ablate.bench --gpu`: what one GPU does with the gpu profile, in minutes.

Measures, with the project's own training path (`ablate.training.run.run`):
- images/s per run and in total with 1, 2, 4 and 8 runs at once, each its own process
  sharing the GPU, started together behind a barrier;
- peak GPU memory (per process, and on the device) and utilisation (pynvml if installed,
  else `nvidia-smi` sampled twice a second);
- epoch time of one run alone;
- test accuracy of bf16-mixed against fp32 on a short run of the default gpu cell;
then projects the wall time of the whole gpu grid (see `ablate.bench.projection`) and
writes reports/bench_gpu.md and .json. Without a GPU it says so in one line and exits 0.

CIFAR-10 is used when its archive is already in data/raw (the GPU machine may have no
network); otherwise a synthetic archive in the same binary format (ten class templates
plus noise), which times the same code but makes the accuracy check one of numerics only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ablate.bench.projection import Level, flops_arithmetic, measured_hours, study_cost
from ablate.io import atomic_write_text

REPO = Path(__file__).resolve().parents[3]
CONCURRENCY = (1, 2, 4, 8)
H100_TF32_TFLOPS = 495.0  # dense TF32 tensor-core peak of an H100 SXM (fp32 convs use TF32)
CELL = ["profile=gpu", "probes.enabled=false", "quiet=true", "wandb=disabled"]


def has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


# --- data -------------------------------------------------------------------------------


def synthetic_archive(path: Path, n_train: int = 50_000, n_test: int = 10_000) -> str:
    """Write a CIFAR-10-format archive of learnable synthetic images; return its SHA256."""
    from ablate.data import cifar

    rng = np.random.default_rng(0)
    templates = rng.normal(0, 40, size=(10, 3, 32, 32))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        per_batch = n_train // len(cifar.TRAIN_FILES)
        for name in [*cifar.TRAIN_FILES, cifar.TEST_FILE]:
            n = n_test if name == cifar.TEST_FILE else per_batch
            labels = rng.integers(0, 10, size=n)
            images = 128 + templates[labels] + rng.normal(0, 60, size=(n, 3, 32, 32))
            records = np.empty((n, cifar.RECORD), dtype=np.uint8)
            records[:, 0] = labels
            records[:, 1:] = np.clip(images, 0, 255).reshape(n, -1)
            add(name, records.tobytes())
        add("batches.meta.txt", "\n".join(f"class{i}" for i in range(10)).encode())
    blob = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return hashlib.sha256(blob).hexdigest()


def data_overrides(tmp: Path) -> tuple[list[str], str]:
    """Overrides that point runs at real CIFAR-10 if it is here, else at a synthetic copy;
    the split is prepared once here so that the workers only load it."""
    from ablate.config import compose
    from ablate.data import cifar
    from ablate.data.prepare import prepare

    if (REPO / "data" / "raw" / cifar.FILENAME).exists():
        overrides, label = [f"data.root={REPO / 'data'}"], "CIFAR-10"
    else:
        sha = synthetic_archive(tmp / "data" / "raw" / cifar.FILENAME)
        overrides = [f"data.root={tmp / 'data'}", "data.url=http://127.0.0.1:9/none"]
        overrides.append(f"data.sha256={sha}")
        label = "synthetic CIFAR-10-format images (CIFAR-10 is not in data/raw)"
    prepare(compose([*CELL, *overrides]).data)
    return overrides, label


# --- GPU sampling -------------------------------------------------------------------------


class Sampler:
    """Device utilisation (%) and memory used (MiB), sampled in a thread until `stop`."""

    def __init__(self, every_s: float = 0.5) -> None:
        self.every_s, self.samples = every_s, []
        self._stop = threading.Event()
        self._read = self._nvml() or self._smi()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _nvml():
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:
            return None

        def read() -> tuple[float, float]:
            util = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
            return float(util), pynvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20

        return read

    @staticmethod
    def _smi():
        smi = shutil.which("nvidia-smi")
        if not smi:
            return None
        query = [smi, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"]

        def read() -> tuple[float, float]:
            line = subprocess.run(query, capture_output=True, text=True, timeout=5).stdout
            util, used = line.splitlines()[0].split(",")
            return float(util), float(used)

        return read

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.samples.append(self._read())
            except Exception:
                return

    def __enter__(self) -> Sampler:
        if self._read:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def summary(self) -> dict[str, float | None]:
        if not self.samples:
            return {"util_mean": None, "util_max": None, "memory_max_mib": None}
        utils, used = zip(*self.samples, strict=True)
        return {
            "util_mean": statistics.fmean(utils),
            "util_max": max(utils),
            "memory_max_mib": max(used),
        }


# --- workers ------------------------------------------------------------------------------


def worker(spec: dict[str, Any]) -> None:
    """One run in its own process: set up, wait at the barrier, train, write the record."""
    import torch

    from ablate.config import compose
    from ablate.training.run import run

    cfg = compose(spec["overrides"])
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.init()  # before the barrier: start-up is not training time
    Path(spec["ready"]).touch()
    while not Path(spec["go"]).exists():
        time.sleep(0.05)
    start = time.time()
    result = run(cfg)
    record = {
        "start": start,
        "end": time.time(),
        "peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        **{k: result.get(k) for k in RECORD_FIELDS},
    }
    atomic_write_text(Path(spec["out"]), json.dumps(record, default=float))


RECORD_FIELDS = (
    "status",
    "error",
    "train_images_per_s",
    "fit_time_s",
    "wall_time_s",
    "epochs",
    "steps",
    "test_acc",
    "flops_per_image",
)


def launch(tmp: Path, name: str, runs: list[list[str]], deadline: float) -> dict[str, Any]:
    """Start one process per override list, release them together, wait, and collect."""
    folder = tmp / name
    folder.mkdir()
    go = folder / "go"
    procs, specs = [], []
    for i, overrides in enumerate(runs):
        spec = {
            "overrides": [*overrides, f"runs_dir={folder / f'runs{i}'}"],
            "ready": str(folder / f"ready{i}"),
            "go": str(go),
            "out": str(folder / f"out{i}.json"),
        }
        specs.append(spec)
        cmd = [sys.executable, "-m", "ablate.bench.gpu", "--worker", json.dumps(spec)]
        procs.append(subprocess.Popen(cmd, cwd=REPO, start_new_session=True))
    try:
        while not all(Path(s["ready"]).exists() for s in specs):
            if time.time() > deadline or any(p.poll() not in (None, 0) for p in procs):
                raise TimeoutError(f"{name}: workers did not get ready")
            time.sleep(0.1)
        with Sampler() as sampler:
            go.touch()
            for proc in procs:
                proc.wait(timeout=max(1.0, deadline - time.time()))
    except (TimeoutError, subprocess.TimeoutExpired) as err:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # our own workers, by their group id
        return {"name": name, "error": str(err) or "past the time budget"}
    records = [json.loads(Path(s["out"]).read_text()) for s in specs if Path(s["out"]).exists()]
    return {"name": name, "runs": records, **sampler.summary()}


def level(measured: dict[str, Any]) -> Level | None:
    runs = [r for r in measured.get("runs", []) if r["status"] == "ok"]
    if not runs:
        return None
    return Level(
        n=len(measured["runs"]),
        per_run_images_s=tuple(r["train_images_per_s"] for r in runs),
        fixed_s=statistics.median(r["wall_time_s"] - r["fit_time_s"] for r in runs),
    )


# --- report -------------------------------------------------------------------------------


def render(b: dict[str, Any]) -> str:
    def num(value: Any, fmt: str = ".0f") -> str:
        return "—" if value is None else format(value, fmt)

    lines = [
        "# GPU check",
        "",
        f"Generated by `python -m ablate.bench --gpu` on {b['device']}, torch {b['torch']}, "
        f"in {b['seconds']:.0f} s. Data: {b['data']}. Cell: the gpu profile's default "
        f"(`{' '.join(b['cell'])}`), {b['epochs']} epoch(s) per run.",
        "",
        "| runs at once | images/s per run (median) | images/s in total | peak MiB per run "
        "| device MiB (max) | GPU util % (mean / max) |",
        "|---|---|---|---|---|---|",
    ]
    for m in b["levels"]:
        if "error" in m:
            lines.append(f"| {m['name']} | not measured: {m['error']} | | | | |")
            continue
        rates = [r["train_images_per_s"] for r in m["runs"] if r["status"] == "ok"]
        peak = max((r["peak_mib"] for r in m["runs"] if r["peak_mib"]), default=None)
        lines.append(
            f"| {len(m['runs'])} | {num(statistics.median(rates) if rates else None)} | "
            f"{num(sum(rates))} | {num(peak)} | {num(m['memory_max_mib'])} | "
            f"{num(m['util_mean'])} / {num(m['util_max'])} |"
        )
    lines += ["", f"Epoch time of one run alone: {num(b.get('epoch_s'), '.2f')} s.", ""]
    acc = b.get("precision")
    if acc and "runs" in acc:
        lines += ["| precision | test accuracy | images/s |", "|---|---|---|"]
        for name, r in zip(("32-true", "bf16-mixed"), acc["runs"], strict=False):
            lines.append(
                f"| {name} | {num(r['test_acc'], '.4f')} | {num(r['train_images_per_s'])} |"
            )
        lines.append("")
    p = b.get("projection")
    if p:
        lines += [
            f"**Projected wall time of the whole gpu grid on this GPU: {p['hours']:.1f} h** "
            f"({p['jobs']:,} runs, {p['images']:.3g} training images at {p['concurrency']} "
            f"runs at once, {p['images_per_s']:,.0f} images/s in total: "
            f"{p['fit_hours']:.2f} h of fitting + {p['fixed_hours']:.2f} h of per-run fixed "
            "cost). Assumes every run costs per image what the default cell costs.",
            "",
        ]
    lines += ["From FLOPs instead (see the README):", "", "```", b["flops_arithmetic"], "```"]
    return "\n".join(lines) + "\n"


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    import torch

    from ablate.sweep.params import load_params

    start = time.time()
    deadline = start + args.budget_s
    data, label = data_overrides(tmp)
    cell = [*CELL, f"trainer.max_epochs={args.epochs}", *data]
    levels = [launch(tmp, "n1", [[*cell, "seed=0"]], deadline)]
    precision = launch(
        tmp,
        "precision",
        [
            [*cell, f"trainer.max_epochs={args.acc_epochs}", f"trainer.precision={p}"]
            for p in ("32-true", "bf16-mixed")
        ],
        deadline,
    )
    for n in CONCURRENCY[1:]:
        levels.append(launch(tmp, f"n{n}", [[*cell, f"seed={i}"] for i in range(n)], deadline))
    studies = load_params(REPO / "params.yaml")["studies"]
    costs = [study_cost("gpu", s) for s in studies]
    measured = [lv for lv in map(level, levels) if lv]
    alone = levels[0].get("runs", [])
    return {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "data": label,
        "cell": CELL,
        "epochs": args.epochs,
        "levels": levels,
        "precision": precision,
        "epoch_s": alone[0]["fit_time_s"] / max(alone[0]["epochs"], 1) if alone else None,
        "costs": [c.__dict__ for c in costs],
        "projection": measured_hours(costs, measured) if measured else None,
        "flops_arithmetic": flops_arithmetic(costs, H100_TF32_TFLOPS, args.utilisation),
        "seconds": time.time() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed run")
    parser.add_argument("--acc-epochs", type=int, default=5, help="epochs of the bf16/fp32 pair")
    parser.add_argument("--budget-s", type=float, default=420, help="stop measuring after this")
    parser.add_argument("--utilisation", type=float, default=0.05, help="for the FLOPs line")
    parser.add_argument("--out", type=Path, default=REPO / "reports")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    if not has_gpu():
        print("no CUDA GPU here: the GPU check measures nothing (run it on a GPU machine)")
        return 0
    with tempfile.TemporaryDirectory() as name:
        bench = measure(args, Path(name))
    text = render(bench)
    atomic_write_text(args.out / "bench_gpu.md", text)
    atomic_write_text(args.out / "bench_gpu.json", json.dumps(bench, indent=2, default=float))
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
