"""Collect `runs/<study>/<key>/result.json` into one table, one row per run.

A folder whose result cannot be read is reported by path and skipped: one corrupt file
must never cost the whole report. Each row also carries what the run's logged training loss
says (`outcomes`): whether it trained, and after how many steps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ablate.analysis import outcomes

AXES = [
    "activation",
    "init",
    "norm",
    "norm_position",
    "norm_noise",
    "downsampling",
    "arch",
    "width",
    "depth",
    "stages",
    "reduction",
    "match_flops",
    "flops_ref",
    "init_std",
    "stem",
    "head",
]
# What a run trained on and how, besides its axes and rate; and its budget.
SETUP = [
    "dataset",
    "image_size",
    "shift_px",
    "preprocessing",
    "folds",
    "fold",
    "train_limit",
    "batch_size",
    "scramble_labels",
    "optimizer",
]
BUDGET = ["max_epochs", "max_steps", "schedule"]
COLUMNS = [
    "study",
    "key",
    "status",
    "code",
    "git",
    "reused_from",
    "seed",
    *AXES,
    *SETUP,
    "lr",
    *BUDGET,
    "stopped",
    "val_acc",
    "val_loss",
    "best_val_acc",
    "test_acc",
    "test_loss",
    "test_classes_predicted",
    "majority_acc",
    "train_fit_acc",
    "train_fit_loss",
    "logit_affine_r2",
    "input_eig_top_ratio",
    "input_eig_top_share",
    "epochs",
    "steps",
    "diverged_step",
    "trained",
    *outcomes.COLUMNS,
    "wall_time_s",
    "fit_time_s",
    "train_images_per_s",
    "params",
    "flops_per_image",
    "infer_images_per_s",
    "classes",
    "data_hash",
    "error",
    "python",
    "torch",
    "lightning",
    "processor",
    "cpus",
    "torch_threads",
    "cuda",
]


def flatten(result: dict[str, Any]) -> dict[str, Any]:
    """One result.json -> one flat row with every axis a column."""
    cfg = result.get("config", {})
    model, data, optim, trainer = (cfg.get(k, {}) for k in ("model", "data", "optim", "trainer"))
    row = {k: result.get(k) for k in COLUMNS if k in result}
    row.update({axis: model.get(axis) for axis in AXES})
    row.update(
        dataset=data.get("name"),
        image_size=data.get("image_size"),
        shift_px=data.get("shift_px", 0),
        preprocessing=data.get("preprocessing"),
        folds=data.get("folds"),
        fold=data.get("fold"),
        train_limit=data.get("train_limit"),
        batch_size=data.get("batch_size"),
        scramble_labels=data.get("scramble_labels", False),
        optimizer=optim.get("name"),
        lr=optim.get("lr"),
        max_epochs=trainer.get("max_epochs"),
        max_steps=trainer.get("max_steps"),
        schedule=optim.get("schedule"),
        **result.get("versions", {}),
        **result.get("hardware", {}),
    )
    row.pop("machine", None)
    row.update({f"probe_{k}": v for k, v in result.get("probe", {}).items()})
    return row


def collect(runs_dir: str | Path, studies: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """All readable runs of `studies`, and a line per folder that could not be read."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for study, run in _run_folders(runs_dir, studies):
        path = run / "result.json"
        try:
            result = json.loads(path.read_text())
            if not isinstance(result, dict) or "status" not in result:
                raise ValueError("no 'status' field")
        except FileNotFoundError:
            problems.append(f"{path}: missing (run never finished)")
            continue
        except (OSError, ValueError) as err:
            problems.append(f"{path}: unreadable ({type(err).__name__}: {err})")
            continue
        row = flatten(result)
        row.update(outcomes.loss_outcomes(_history(run), row.get("classes")))
        rows.append({**row, "study": study})
    probe_columns = sorted({k for r in rows for k in r if k.startswith("probe_")})
    table = pd.DataFrame(rows, columns=COLUMNS + probe_columns)
    table["trained"] = outcomes.trained(table)
    return table.sort_values(["study", "key"], ignore_index=True), problems


def _history(run: Path) -> pd.DataFrame:
    """A run's logged training losses; none where history.csv is missing or unreadable."""
    try:
        frame = pd.read_csv(run / "history.csv", usecols=["step", "train_loss"])
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return pd.DataFrame({"step": [], "train_loss": []})
    return frame


def _run_folders(runs_dir: str | Path, studies: list[str]):
    for study in studies:
        folder = Path(runs_dir) / study
        if folder.is_dir():
            for run in sorted(folder.iterdir()):
                if run.is_dir() and not run.name.startswith("."):
                    yield study, run


HIST_STUDIES = {"depth_init"}  # only these keep activation histograms (the classic figure)


def collect_probes(runs_dir: str | Path, studies: list[str]) -> pd.DataFrame:
    """probes.json of every run, long: one row per (run, probe point, layer)."""
    rows: list[dict[str, Any]] = []
    for study, run in _run_folders(runs_dir, studies):
        try:
            points = json.loads((run / "probes.json").read_text())
        except (OSError, ValueError):
            continue
        for i, point in enumerate(points):
            base = {
                "study": study,
                "key": run.name,
                "point": i,
                "when": point["when"],
                "step": point["step"],
            }
            rows.append(
                {
                    **base,
                    "kind": "point",
                    "loss": point.get("loss"),
                    "sign_agreement": point.get("sign_agreement"),
                    **{f"smooth_{k}": v for k, v in point.get("smooth", {}).items()},
                    **point.get("drift", {}),
                }
            )
            for j, act in enumerate(point["activations"]):
                hist = " ".join(f"{v:g}" for v in act["hist"]) if study in HIST_STUDIES else ""
                rows.append(
                    {
                        **base,
                        "kind": "act",
                        "layer_idx": j,
                        "layer": act["layer"],
                        **{
                            k: act.get(k)
                            for k in (
                                "act_mean",
                                "act_std",
                                "sat_frac",
                                "dead_frac",
                                "zero_frac",
                                "mean_slope",
                                "act_grad_norm",
                            )
                        },
                        "hist": hist,
                    }
                )
            for j, grad in enumerate(point["gradients"]):
                rows.append(
                    {
                        **base,
                        "kind": "grad",
                        "layer_idx": j,
                        "layer": grad["layer"],
                        "grad_norm": grad["grad_norm"],
                        "weight_norm": grad.get("weight_norm"),
                    }
                )
    return pd.DataFrame(rows)


def collect_history(runs_dir: str | Path, studies: list[str]) -> pd.DataFrame:
    """history.csv of every run, long, with study and key columns."""
    frames = []
    for study, run in _run_folders(runs_dir, studies):
        try:
            frame = pd.read_csv(run / "history.csv")
        except (OSError, ValueError, pd.errors.EmptyDataError):
            continue
        frames.append(frame.assign(study=study, key=run.name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
