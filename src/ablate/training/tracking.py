"""W&B tracking: one W&B run per training run, grouped by study and grid cell.

Seeds of one cell share a group, so W&B draws the seed band; the axis values become tags,
the resolved config the W&B config, the final metrics the summary. `offline` needs no
account (`wandb sync wandb/offline-run-*` uploads later); `disabled` skips W&B entirely.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablate.training.keys import canonical, key_fields

TAG_AXES = ("arch", "activation", "init", "norm", "downsampling")
SUMMARY = (
    "status",
    "test_acc",
    "test_loss",
    "val_acc",
    "best_val_acc",
    "params",
    "flops_per_image",
    "train_images_per_s",
    "wall_time_s",
    "epochs",
    "steps",
)


def cell_key(cfg: DictConfig) -> str:
    """The run key without the seed: every seed of one grid cell shares it."""
    fields = canonical(key_fields(cfg))
    fields.pop("seed")
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


def make_logger(cfg: DictConfig, key: str) -> Any | None:
    """A Lightning WandbLogger for this run, or None when W&B is disabled."""
    if cfg.wandb == "disabled":
        return None
    import wandb
    from pytorch_lightning.loggers import WandbLogger

    os.environ.setdefault("WANDB_SILENT", "true")
    # The run is started here, not by WandbLogger: it would pass `anonymous=None` to
    # wandb.init, a deprecated setting W&B warns about on every run.
    run = wandb.init(
        project=cfg.wandb_project,
        name=f"{cfg.study.name}/{key}",
        group=f"{cfg.study.name}/{cell_key(cfg)}",
        job_type=cfg.study.name,
        tags=[f"{axis}={cfg.model[axis]}" for axis in TAG_AXES],
        config=OmegaConf.to_container(cfg, resolve=True),
        mode=cfg.wandb,
        dir=".",
        reinit="finish_previous",
        # No system-metrics sampler, console capture or code/git scan: on a small machine
        # they compete with training for the cores, and the run records carry the facts.
        settings=wandb.Settings(
            x_disable_stats=True, x_disable_meta=True, console="off", save_code=False
        ),
    )
    # The step axis WandbLogger sets on the runs it starts itself.
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return WandbLogger(experiment=run)


def finish(logger: Any | None, result: dict[str, Any]) -> None:
    """Write the final metrics into the W&B summary and close the run."""
    if logger is None:
        return
    run = logger.experiment
    run.summary.update({k: result[k] for k in SUMMARY if result.get(k) is not None})
    close(run)


def close(run: Any) -> None:
    run.finish()
