"""Train M same-shape runs in one process as one vmapped model (a GPU option, off by default).

Tiny nets leave a GPU mostly idle; stacking M of them (`torch.func.stack_module_state`,
then `vmap` over `functional_call`) makes every kernel M times wider. Each model keeps the
semantics of its separate run (`training/run.py`): its seed's init draw, its seed's batch
order (stacked along a new leading axis), SGD with momentum at its own rate on the same
warm-up/cosine schedule, the same number of steps, the same divergence rule and the same
final validation and test scores.

Plain PyTorch, not Lightning: a LightningModule owns one set of `nn.Parameter`s and one
optimizer, while here the parameters are stacked tensors updated by a per-model-rate SGD
written out below. BatchNorm is exact under vmap: its running statistics are stacked
buffers that each model updates in place (so `replace_all_batch_norm_modules_`, which drops
running statistics and changes evaluation, is not used). Not applied here: probes, early
stops, the logger, and `torch.use_deterministic_algorithms` (Lightning's `deterministic`);
on a GPU, `cudnn.benchmark` follows `trainer.deterministic` as in the separate run. The
time budget is the group's: M times `trainer.max_time_s`, after which every run of the
group ends `timeout`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch.func import functional_call, stack_module_state, vmap

from ablate.data.datamodule import IndexBatches, TensorDataModule
from ablate.errors import ConfigError
from ablate.models import build_model
from ablate.training.keys import config_key, key_fields
from ablate.training.module import schedule
from ablate.training.seeding import run_seed

# The fields that may differ within a stacked group: they change values, never shapes.
FREE = {"seed": None, "optim": {"lr"}, "model": {"init", "init_std"}}
FREE_NAMES = "seed, optim.lr, model.init, model.init_std"
OPTIMIZERS = ("sgd",)
PRECISIONS = ("32-true",)
ACCELERATORS = ("cpu", "gpu", "cuda")


def shape_key(cfg: DictConfig) -> dict[str, Any]:
    """The keyed config without the free fields: runs with equal shape keys can stack."""
    fields = key_fields(cfg)
    for section, names in FREE.items():
        if names is None:
            fields.pop(section, None)
        else:
            fields[section] = {k: v for k, v in fields[section].items() if k not in names}
    return fields


def _first_difference(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> str:
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name), b.get(name)
        if isinstance(x, dict) and isinstance(y, dict):
            found = _first_difference(x, y, f"{prefix}{name}.")
            if found:
                return found
        elif x != y:
            return f"{prefix}{name}={x!r} vs {y!r}"
    return ""


def check_stackable(cfgs: Sequence[DictConfig]) -> None:
    """Raise a ConfigError naming the first value that keeps `cfgs` from training stacked."""
    if not cfgs:
        raise ConfigError("stacked training needs at least one config")
    errors: list[str] = []
    base = shape_key(cfgs[0])
    for cfg in cfgs[1:]:
        diff = _first_difference(base, shape_key(cfg))
        if diff:
            errors.append(f"shapes differ: {diff}; within a group only {FREE_NAMES} may differ")
            break
    c = cfgs[0]
    t = c.trainer
    checks = [
        ("optim.name", c.optim.name, OPTIMIZERS),
        ("trainer.precision", t.precision, PRECISIONS),
        ("trainer.accelerator", t.accelerator, ACCELERATORS),
        ("probes.enabled", c.probes.enabled, (False,)),
        ("probes.input_condition", c.probes.input_condition, (False,)),
        ("trainer.channels_last", t.channels_last, (False,)),
        ("trainer.stall_steps", t.stall_steps, (0,)),  # early stops would end runs unevenly
        ("trainer.converge_loss", t.converge_loss, (0,)),
    ]
    for name, value, valid in checks:
        if value not in valid:
            choices = ", ".join(repr(v) for v in valid)
            errors.append(f"{name}={value!r} cannot be trained stacked; valid: {choices}")
    if errors:
        raise ConfigError("; ".join(errors))


def group_by_shape(cfgs: Sequence[DictConfig]) -> list[list[DictConfig]]:
    """Split `cfgs` into groups of equal shape key, in first-seen order."""
    groups: dict[str, list[DictConfig]] = {}
    for cfg in cfgs:
        groups.setdefault(repr(shape_key(cfg)), []).append(cfg)
    return list(groups.values())


class Stack:
    """M models as stacked parameters and buffers around one stateless copy of the net."""

    def __init__(self, nets: list[torch.nn.Module], device: torch.device) -> None:
        params, buffers = stack_module_state([net.to(device) for net in nets])
        self.params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        self.buffers = buffers
        self.base = copy.deepcopy(nets[0]).to("meta")

    def _logits(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each model's mean cross-entropy on its own batch: x [M, B, ...], y [M, B]."""
        self.base.train()

        def loss(p: dict, b: dict, xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(self._logits(p, b, xi), yi)

        return vmap(loss)(self.params, self.buffers, x, y)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Every model's logits on one shared batch, in eval mode: [M, B, classes]."""
        self.base.eval()
        return vmap(self._logits, in_dims=(0, 0, None))(self.params, self.buffers, x)


class SGD:
    """torch.optim.SGD's update (momentum, weight decay, no dampening or Nesterov) with one
    learning rate per model, on stacked parameters."""

    def __init__(self, params: dict[str, torch.Tensor], momentum: float, weight_decay: float):
        self.params, self.momentum, self.weight_decay = params, momentum, weight_decay
        self.bufs = {k: torch.zeros_like(p) for k, p in params.items()}

    @torch.no_grad()
    def step(self, lrs: torch.Tensor) -> None:
        for name, p in self.params.items():
            grad = p.grad
            if self.weight_decay:
                grad = grad.add(p, alpha=self.weight_decay)
            buf = self.bufs[name].mul_(self.momentum).add_(grad)
            p.sub_(buf * lrs.view(-1, *[1] * (p.dim() - 1)))
            p.grad = None


def evaluate(stack: Stack, x: torch.Tensor, y: torch.Tensor, batch: int, prefix: str) -> list:
    """Per model: mean loss, accuracy and classes predicted over one split, batched as the
    Lightning module does (summed per batch, then divided by the split size)."""
    m = next(iter(stack.params.values())).shape[0]
    loss = torch.zeros(m, dtype=torch.float64, device=x.device)
    correct = torch.zeros(m, dtype=torch.float64, device=x.device)
    seen = None
    for start in range(0, len(y), batch):
        xb, yb = x[start : start + batch], y[start : start + batch]
        logits = stack.logits(xb)  # [M, B, C]
        each = F.cross_entropy(logits.flatten(0, 1), yb.repeat(m), reduction="none")
        loss += each.view(m, -1).sum(1).double()
        predicted = logits.argmax(2)
        correct += (predicted == yb).sum(1).double()
        hits = F.one_hot(predicted, logits.shape[2]).sum(1)
        seen = hits if seen is None else seen + hits
    n = len(y)
    classes = (seen > 0).sum(1).tolist() if seen is not None else [0] * m
    return [
        {
            f"{prefix}_loss": loss[i].item() / n if n else math.nan,
            f"{prefix}_acc": correct[i].item() / n if n else 0.0,
            f"{prefix}_classes_predicted": float(classes[i]),
        }
        for i in range(m)
    ]


def _diverged_at(losses: list[float]) -> int | None:
    """The first step whose loss is NaN or inf (the module's divergence rule), or None."""
    return next((step for step, value in enumerate(losses) if not math.isfinite(value)), None)


def train_stacked(cfgs: Sequence[DictConfig]) -> list[dict[str, Any]]:
    """Train `cfgs` (same shape, see `check_stackable`) as one stack; return one result
    per config, with the fields of its separate run's result that this path measures and
    its `history` rows. A diverged run ends `diverged` with no scores; the others go on."""
    check_stackable(cfgs)
    c, t = cfgs[0], cfgs[0].trainer
    if t.threads:
        torch.set_num_threads(t.threads)
    on_gpu = t.accelerator in ("gpu", "cuda") and torch.cuda.is_available()
    device = torch.device("cuda" if on_gpu else "cpu")
    if on_gpu:
        torch.backends.cudnn.benchmark = not t.deterministic  # as the separate run sets it
    dm = TensorDataModule(c.data, seed=c.seed, device=device)
    dm.setup()  # the data does not depend on the seed, and loading it draws no torch RNG
    nets = []
    for cfg in cfgs:
        pl.seed_everything(run_seed(cfg), workers=False, verbose=False)  # as the separate run
        nets.append(build_model(cfg.model, dm.input_shape, dm.num_classes))
    stack = Stack(nets, device)
    x_train, y_train = dm.tensors["train"]
    loaders = [
        IndexBatches(x_train, y_train, c.data.batch_size, True, run_seed(cfg)) for cfg in cfgs
    ]
    per_epoch = len(loaders[0])
    total = t.max_steps if t.max_steps > 0 else per_epoch * t.max_epochs
    factor = schedule(c.optim.schedule, max(total, 1), c.optim.warmup)
    # Every step's rate per model, computed as LambdaLR does and moved to the device once.
    rates = torch.tensor(
        [[float(cfg.optim.lr) * factor(step) for cfg in cfgs] for step in range(total)],
        device=device,
    )
    optimizer = SGD(stack.params, c.optim.momentum, c.optim.weight_decay)
    m = len(cfgs)
    step_losses: list[torch.Tensor] = []
    histories: list[list[dict[str, float]]] = [[] for _ in cfgs]
    val_x, val_y = dm.tensors["val"]
    start = time.perf_counter()
    epoch, timed_out = 0, False
    while len(step_losses) < total and not timed_out:
        for batches in zip(*loaders, strict=True):
            step = len(step_losses)
            if step == total:  # a step budget can end mid-epoch
                break
            losses = stack.losses(
                torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches])
            )
            losses.sum().backward()  # the models share no parameter: each gets its own grad
            optimizer.step(rates[step])
            step_losses.append(losses.detach())
            timed_out = time.perf_counter() - start > t.max_time_s * m  # M runs' budgets
            if timed_out:
                break
        else:
            epoch += 1
            if len(val_y):
                for i, row in enumerate(evaluate(stack, val_x, val_y, c.data.batch_size, "val")):
                    histories[i].append({"step": len(step_losses), "epoch": epoch - 1, **row})
    fit_s = time.perf_counter() - start
    steps = len(step_losses)
    curve = torch.stack(step_losses).cpu().tolist() if steps else []
    val = evaluate(stack, val_x, val_y, c.data.batch_size, "val") if len(val_y) else []
    test = evaluate(stack, *dm.tensors["test"], c.data.batch_size, "test")
    common = {
        "status": "timeout" if timed_out else "ok",
        "stacked": m,
        "steps": steps,
        "epochs": math.ceil(steps / per_epoch),  # as Lightning counts an epoch cut short
        "fit_time_s": fit_s,
        "train_images_per_s": steps * c.data.batch_size / fit_s if fit_s else None,
    }
    return [
        _result(
            {"config_key": config_key(cfg), "seed": cfg.seed, "lr": cfg.optim.lr, **common},
            [row[i] for row in curve],
            histories[i],
            val[i] if val else None,
            test[i],
            per_epoch,
            t,
        )
        for i, cfg in enumerate(cfgs)
    ]


def _result(
    result: dict[str, Any],
    losses: list[float],
    val_rows: list[dict[str, float]],
    val: dict[str, float] | None,
    test: dict[str, float],
    per_epoch: int,
    t: Any,
) -> dict[str, Any]:
    """One run's record from its step losses, per-epoch and final scores, with the history
    rows its separate run would log (cut at its divergence, as that run would stop)."""
    steps = result["steps"]
    history = list(val_rows)
    if val and (not val_rows or val_rows[-1]["step"] != steps):
        history.append({"step": steps, "epoch": result["epochs"], **val})  # the final weights
    for s in range(0, steps, t.history_every):
        history.append({"step": s, "epoch": s // per_epoch, "train_loss": losses[s]})
    history.sort(key=lambda row: (row["step"], row["epoch"]))
    result["train_loss"] = losses[-1] if losses else math.nan
    bad = _diverged_at(losses)
    if bad is not None:
        result.update(
            status="diverged", diverged_step=bad, error=f"loss {losses[bad]} at step {bad}"
        )
        history = [r for r in history if r["step"] < bad or (r["step"] == bad and "val_acc" in r)]
    elif result["status"] == "ok":  # a timed-out run has no scores, as when separate
        if val:
            result.update(val_acc=val["val_acc"], val_loss=val["val_loss"])
            result["best_val_acc"] = max(r["val_acc"] for r in history if "val_acc" in r)
        result.update(test)
    result["history"] = history
    return result
