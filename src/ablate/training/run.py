"""One run: train one resolved config and write `runs/<study>/<key>/` atomically.

The folder is built under a temporary name and renamed into place when complete, and
`result.json` inside it means done: a rerun of a finished key is skipped, so sweeps resume
after a crash and grow incrementally. Diverged, timed-out and failed runs are results too.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import logging
import os
import platform
import shutil
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from ablate.config import validate
from ablate.data.datamodule import TensorDataModule
from ablate.errors import AblateInputError
from ablate.io import atomic_write_text, clean_stale_temps, pid_alive
from ablate.models import build_model
from ablate.models.architectures import BUILDERS, parse_stem
from ablate.models.flops import count_flops
from ablate.probes.callback import Probes, summarise
from ablate.probes.capacity import capacity
from ablate.probes.layers import input_condition
from ablate.probes.stem import shifted_accuracy, unread_share
from ablate.training import progress, tracking
from ablate.training.callbacks import EarlyStop, RunTimeout, TimeBudget
from ablate.training.fingerprint import git_state
from ablate.training.keys import config_key, run_code
from ablate.training.module import Classifier, Diverged
from ablate.training.records import FINISHED, read_result, run_dir
from ablate.training.seeding import run_seed

HISTORY_COLUMNS = ["step", "epoch", "train_loss", "val_loss", "val_acc"]

log = logging.getLogger("ablate")


def quiet_lightning() -> None:
    """Silence Lightning's per-run banners and the warnings that do not apply here."""
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")


def environment() -> dict[str, Any]:
    return {
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "lightning": pl.__version__,
            "numpy": np.__version__,
        },
        "hardware": {
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
    }


def _history_csv(rows: list[dict[str, float]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, HISTORY_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def train(
    cfg: DictConfig,
    result: dict[str, Any],
    module_out: list[Classifier],
    probes: list[Probes],
    logger: Any | None = None,
) -> None:
    """Fit, validate and test; fill `result` as it goes, so a crash keeps what was measured."""
    seed = run_seed(cfg)
    pl.seed_everything(seed, workers=False, verbose=False)
    on_gpu = cfg.trainer.accelerator in ("gpu", "cuda") and torch.cuda.is_available()
    dm = TensorDataModule(cfg.data, seed=seed, device="cuda" if on_gpu else "cpu")
    dm.setup()
    result.update(data_hash=dm.data_hash, classes=dm.num_classes)
    if cfg.probes.input_condition:
        result.update(input_condition(dm.tensors["train"][0]))
    net = build_model(cfg.model, dm.input_shape, dm.num_classes)
    if on_gpu:
        torch.backends.cudnn.benchmark = not cfg.trainer.deterministic
    if cfg.trainer.channels_last:  # on CPU too, so a CPU dry run exercises the GPU layout
        net = net.to(memory_format=torch.channels_last)
        dm.to_channels_last()
    result["params"] = sum(p.numel() for p in net.parameters())
    result["flops_per_image"] = count_flops(net, dm.input_shape)
    module = Classifier(net, cfg.optim, cfg.trainer.history_every)
    module_out.append(module)
    t = cfg.trainer
    stop = EarlyStop(dm.num_classes, t.stall_steps, t.stall_margin, t.converge_loss)
    callbacks: list[pl.Callback] = [TimeBudget(t.max_time_s), stop]
    if cfg.probes.enabled:
        probes.append(Probes(cfg.probes, cfg.optim.lr))
        callbacks += probes
    trainer = pl.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=1,
        precision=cfg.trainer.precision,
        max_epochs=-1 if t.max_steps > 0 else t.max_epochs,  # a step budget rules alone
        max_steps=t.max_steps,
        deterministic=cfg.trainer.deterministic,
        logger=logger or False,
        log_every_n_steps=cfg.trainer.history_every,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=cfg.trainer.progress_bar,
        num_sanity_val_steps=0,
        callbacks=callbacks,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=dm)
    fit_s = time.perf_counter() - start
    steps = trainer.global_step
    result.update(
        epochs=trainer.current_epoch,
        steps=steps,
        stopped=stop.reason,  # None: the whole budget ran
        fit_time_s=fit_s,
        train_images_per_s=steps * cfg.data.batch_size / fit_s if fit_s else None,
    )
    val = [row for row in module.history if "val_acc" in row]
    if len(dm.tensors["val"][1]) and (not val or val[-1]["step"] != steps):
        trainer.validate(module, datamodule=dm, verbose=False)  # the final weights' score
        val = [row for row in module.history if "val_acc" in row]
    if val:
        result.update(val_acc=val[-1]["val_acc"], val_loss=val[-1]["val_loss"])
        result["best_val_acc"] = max(row["val_acc"] for row in val)
    start = time.perf_counter()
    trainer.test(module, datamodule=dm, verbose=False)
    labels = dm.tensors["test"][1]
    result["infer_images_per_s"] = len(labels) / (time.perf_counter() - start)
    result.update(module.last_eval)
    if cfg.probes.capacity:
        result.update(capacity(net, *dm.tensors["train"]))
    stem_probes(cfg, dm, net, result)
    # The floor a collapsed net sits on: always guessing the test split's commonest class.
    result["majority_acc"] = float(torch.bincount(labels.cpu()).max()) / len(labels)


def stem_probes(
    cfg: DictConfig, dm: TensorDataModule, net: torch.nn.Module, result: dict[str, Any]
) -> None:
    """The C2 probes the config asks for, as scalar `probe` fields of the result."""
    probe = result.setdefault("probe", {})
    if cfg.probes.stem_coverage and cfg.model.arch not in BUILDERS:
        probe.update(unread_share(dm.raw("train"), *parse_stem(cfg.model.stem)))
    if cfg.probes.shifts:
        x, y = dm.tensors["test"]
        probe.update(shifted_accuracy(net, x, y, list(cfg.probes.shifts), dm.background))


@contextlib.contextmanager
def claimed(final: Path) -> Iterator[bool]:
    """Claim a run key for this process (an exclusive-create file holding its pid), so two
    sweeps over overlapping grids never train the same key; a dead claimant's claim is
    taken over. Yields False when a live process holds the key."""
    claim = final.parent / f".{final.name}.claim"
    final.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                holder = int(claim.read_text().strip() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and pid_alive(holder):
                yield False
                return
            claim.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))
        try:
            yield True
        finally:
            claim.unlink(missing_ok=True)
        return
    yield False


def run(cfg: DictConfig) -> dict[str, Any]:
    """Train `cfg` unless its key already finished (and `rerun` is off) or another process
    holds it; return its result record."""
    validate(cfg)
    final = run_dir(cfg)
    done = None if cfg.rerun else read_result(final)
    if done is None and cfg.reuse_runs and not cfg.rerun:
        done = reuse(cfg, final)
    if done is not None and done.get("status") in FINISHED:
        done["skipped"] = True
        progress.report(cfg, done)
        return done
    clean_stale_temps(final.parent)
    with claimed(final) as mine:
        done = None if cfg.rerun else read_result(final)  # finished while we waited
        if not mine or (done is not None and done.get("status") in FINISHED):
            result = {**(done or {"key": final.name, "status": "busy"}), "skipped": True}
        else:
            result = train_and_record(cfg, final)
    progress.report(cfg, result)
    return result


@functools.cache
def _originals(study_dir: Path) -> dict[str, Path]:
    """config_key -> folder of each finished original (never reused) run under `study_dir`;
    read once per process, since a sweep asks for every key of its grid."""
    index: dict[str, Path] = {}
    for folder in sorted(study_dir.iterdir()) if study_dir.is_dir() else []:
        old = read_result(folder) if not folder.name.startswith(".") else None
        if old and old.get("status") in FINISHED and not old.get("reused_from"):
            index.setdefault(old.get("config_key", ""), folder)
    return index


def reuse(cfg: DictConfig, final: Path) -> dict[str, Any] | None:
    """Copy a finished run of the same config made by other code into `final` (the
    `reuse_runs` option); its result keeps its own fingerprint and names where it came from."""
    folder = _originals(final.parent).get(config_key(cfg))
    if folder is None:
        return None
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp)
    result = {**read_result(folder), "key": final.name, "reused_from": folder.name}
    atomic_write_text(tmp / "result.json", json.dumps(result, indent=2, default=float))
    try:
        os.replace(tmp, final)
    except OSError:  # another process filled the key first
        shutil.rmtree(tmp, ignore_errors=True)
    return read_result(final)


def train_and_record(cfg: DictConfig, final: Path) -> dict[str, Any]:
    torch.set_flush_denormal(True)  # tiny inits make denormals that slow CPU math ~100x
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    quiet_lightning()
    key = final.name
    result: dict[str, Any] = {
        "key": key,
        "study": cfg.study.name,
        "seed": cfg.seed,
        "status": "ok",
        "code": run_code(cfg),
        "config_key": config_key(cfg),
        "git": git_state(),
        **environment(),
    }
    modules: list[Classifier] = []
    probes: list[Probes] = []
    logger = tracking.make_logger(cfg, final.name)
    start = time.perf_counter()
    try:
        train(cfg, result, modules, probes, logger)
    except AblateInputError:
        if logger is not None:
            tracking.close(logger.experiment)  # its W&B run, started before training
        raise  # the user's input is wrong: say so, record nothing
    except Diverged as err:
        result.update(status="diverged", diverged_step=err.step, error=str(err))
    except RunTimeout as err:
        result.update(status="timeout", error=str(err))
    except Exception as err:  # a crash is a result too; the sweep goes on
        result.update(status="failed", error=f"{type(err).__name__}: {err}")
        result["traceback"] = traceback.format_exc(limit=8)
    result["wall_time_s"] = time.perf_counter() - start
    result["config"] = OmegaConf.to_container(cfg, resolve=True)
    history = modules[0].history if modules else []
    points = probes[0].points if probes else []
    if points:
        result.setdefault("probe", {}).update(summarise(points))
    if not result.get("probe"):
        result.pop("probe", None)
    write_run(final, cfg, result, history, points)
    tracking.finish(logger, result)
    return result


def write_run(
    final: Path, cfg: DictConfig, result: dict[str, Any], history: list[dict], points: list[dict]
) -> None:
    """Write the run folder under a temporary name, then rename it into place."""
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    atomic_write_text(tmp / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    atomic_write_text(tmp / "history.csv", _history_csv(history))
    if points:
        atomic_write_text(tmp / "probes.json", json.dumps(points, default=float))
    atomic_write_text(tmp / "result.json", json.dumps(result, indent=2, default=float))
    if final.exists():  # a failed or timed-out attempt being retried
        shutil.rmtree(final)
    try:
        os.replace(tmp, final)
    except OSError:  # another process finished the same key first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
