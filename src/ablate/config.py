"""The structured-config schema of one run, and the checks that run before any training.

Hydra merges every YAML file under `conf/` into these dataclasses, so an unknown key or a
value of the wrong type fails at composition; `validate` then checks every name against the
registries and every number against its range, naming the bad value and the valid ones.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from ablate.data.sources import SOURCES
from ablate.errors import ConfigError
from ablate.models import ACTIVATIONS, ARCHITECTURES, DOWNSAMPLING, INITS, NORM_POSITIONS, NORMS
from ablate.models.architectures import BUILDERS, HEADS, REDUCING_ARCHS, parse_stem
from ablate.models.reductions import REDUCTIONS

PREPROCESSING = ("raw", "center", "standardize", "shift")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "warmup_cosine")
WANDB_MODES = ("disabled", "offline", "online")
CONV_ARCHS = tuple(a for a in ARCHITECTURES.names() if a not in BUILDERS)


@dataclass
class DataConfig:
    name: str = "mnist5k"
    root: str = "data"  # downloads and prepared arrays live under here
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0  # the split is fixed; the run seed does not move it
    train_limit: int | None = None  # train on at most this many examples (profile budgets)
    preprocessing: str = "standardize"
    # Move every image (all splits) this many pixels down and right, toward the edge a
    # non-tiling stem leaves unread (question C2); negative: up and left; 0: as stored.
    shift_px: int = 0
    # Resample every image to this side first (antialiased bilinear); None: as stored.
    # MNIST at 16 px costs about a third of 28 px per conv step and keeps 28 px's tiling for
    # strides 2 and 3 (28 = 16 mod 6): each stem of question C2 reads the same pixels.
    image_size: int | None = None
    batch_size: int = 128
    path: str | None = None  # imagefolder: the folder of class subfolders
    folds: int = 0  # k > 0: cross-validation, the val split is fold `fold` of the train split
    fold: int = 0
    # A deliberate bug for negative controls: training labels permuted within each batch
    # at every step, so no image keeps its label (see data/datamodule.py IndexBatches).
    scramble_labels: bool = False
    # The accuracy a study's control must reach on this dataset, per kind of net.
    marks: dict[str, float] = field(default_factory=dict)
    url: str | None = None  # cifar10: archive URL (default: the canonical one)
    sha256: str | None = None  # cifar10: expected archive hash (default: the canonical one)


@dataclass
class ModelConfig:
    arch: str = "plain"
    activation: str = "relu"
    init: str = "kaiming"
    init_std: float = 0.01  # for small_normal
    norm: str = "batch"
    norm_position: str = "pre"
    norm_noise: float = 0.0  # noisy_batch: amplitude of the per-step random scale and shift
    downsampling: str = "maxpool"
    width: int = 16
    depth: int = 1
    stages: int = 3
    reduction: str = "none"  # before a block's wide convs: see models/reductions.py
    match_flops: bool = False  # widen a reduced net to the FLOPs of its unreduced self
    flops_ref: str = ""  # with match_flops: size the net to this conv family's FLOPs
    stem: str = "k3s1p1"  # first conv: kernel, stride, padding (question C2 varies it)
    head: str = "gap"  # conv nets: gap | flatten (see models/architectures.py HEADS)


@dataclass
class OptimConfig:
    name: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    # Linear warm-up over the first `warmup` fraction of the steps, then cosine decay to 0:
    # the schedule a converged comparison needs (a constant rate leaves the loss noisy).
    schedule: str = "warmup_cosine"
    warmup: float = 0.05


@dataclass
class TrainerConfig:
    max_epochs: int = 3
    max_steps: int = -1  # > 0: the budget in optimizer steps (epochs then do not limit)
    # Early stops, recorded as results: `stalled` when the training loss is still within
    # `stall_margin` of ln(classes) after `stall_steps` steps; `converged` when it is under
    # `converge_loss`. 0 turns each off. The stall stop is off in every profile: a run still
    # at ln(classes) early may leave it later, so no stop rule decides trainability.
    stall_steps: int = 0
    stall_margin: float = 0.03
    converge_loss: float = 0.0
    max_time_s: float = 300.0  # per-run wall-clock limit; over it the run is `timeout`
    accelerator: str = "cpu"
    precision: str = "32-true"
    deterministic: bool = True
    threads: int = 0  # torch CPU threads (0: torch decides); keyed, as it moves the numbers
    history_every: int = 10  # record the training loss every this many steps
    # Each rate draws its init and batch order anew (training/seeding.py): for studies whose
    # units are (rate, seed) pairs, so that seed 0 at two rates is not one draw twice.
    seed_by_rate: bool = False
    progress_bar: bool = False
    channels_last: bool = False  # GPU: NHWC memory layout for convs (tensor-core friendly)


@dataclass
class ProbesConfig:
    enabled: bool = True  # per-layer statistics at init and at the end of training
    every: int = 0  # also every this many steps (0: never)
    batch: int = 256  # validation images the probes look at
    smoothness: bool = False  # loss/gradient change along the gradient at each probe
    # Per-step change of the distribution entering each nonlinearity, from one optimizer
    # step and from a noisy norm's fresh draw, and its skewness/kurtosis (question B2).
    drift: bool = False
    input_condition: bool = False  # eigenvalues of the training inputs' second moment
    capacity: bool = False  # at the end: training-split fit, and R^2 of logits ~ affine(input)
    # Question C2: share of the training ink in pixels the stem never reads, and test
    # accuracy on images moved by each of `shifts` pixels down+right and up+left.
    stem_coverage: bool = False
    shifts: list[int] = field(default_factory=list)


@dataclass
class TuneConfig:
    """A per-arm learning-rate search that the grid then reuses (see `ablate.sweep.lr_search`):
    each arm (a combination of the `by` axes) is trained at every rate of `lr` on seeds 0
    and 1 at the `at` settings, keeps the rate with the best mean validation accuracy, and
    is extended by half a decade while that rate sits at an edge of the rates tried."""

    lr: list[float] = field(default_factory=list)  # empty: no search
    by: list[str] = field(default_factory=list)  # e.g. [model.activation, model.norm]
    at: dict[str, Any] = field(default_factory=dict)  # fixed settings of the search runs


@dataclass
class StudyConfig:
    name: str = "adhoc"
    questions: list[str] = field(default_factory=list)
    # The arms the literature expects to train: axis -> level (e.g. model.norm: batch).
    # Their accuracy must reach the dataset's mark for the `mark` kind of net, or every
    # verdict of the study reads "inconclusive: under-trained".
    controls: list[dict[str, Any]] = field(default_factory=list)
    mark: str = "conv"  # conv | mlp | deep_mlp | very_deep_mlp...: which of data.marks applies
    tune: TuneConfig = field(default_factory=TuneConfig)
    # A grid sweeping optim.lr: a cell whose best mean-over-seeds rate sits at an edge of
    # the rates it tried gets the next half-decade rate, as a searched arm does.
    extend_lr: bool = False


@dataclass
class ProfileConfig:
    name: str = "cpu"
    seeds: int = 2
    jobs: int = 1  # sweep jobs at once with the `local` launcher
    # Seeds of each study's control cells (`study.controls`) when the grid has fewer: a
    # control is judged on its mean, so it gets more seeds than a cell that is only compared.
    control_seeds: int = 0
    sweeps: dict[str, dict[str, Any]] = field(default_factory=dict)  # study -> axis -> levels


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    probes: ProbesConfig = field(default_factory=ProbesConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    seed: int = 0
    runs_dir: str = "runs"
    wandb: str = "disabled"
    wandb_project: str = "ablate"
    # Reuse a finished run of the same config trained by other code (another fingerprint)
    # instead of training again: for edits known not to change numbers (comments, renames).
    reuse_runs: bool = False
    # Train (and log to W&B) a finished key again, replacing its folder; not part of the key.
    rerun: bool = False
    quiet: bool = False  # no progress line per run


def register_schema() -> None:
    from ablate.sweep.lr_search import register_resolver

    ConfigStore.instance().store(name="train_schema", node=TrainConfig)
    register_resolver()


def _choice(errors: list[str], name: str, value: Any, valid: list[str] | tuple[str, ...]) -> None:
    if value not in valid:
        errors.append(f"{name}={value!r} is not valid; choose one of: {', '.join(valid)}")


def _positive(errors: list[str], name: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value <= 0):
        errors.append(f"{name}={value!r} must be a positive number")


def safe_name(kind: str, value: str) -> str:
    """A name used as one folder level: no separators, no `..`, not absolute."""
    if not value or PurePath(value).name != value or value in (".", "..") or "\\" in value:
        raise ConfigError(f"{kind}={value!r} must be a plain folder name (no '/', '..')")
    return value


def resolved(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain data; an interpolation that cannot resolve (a tuned rate not
    searched yet) is a ConfigError naming why."""
    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
    except InterpolationResolutionError as err:  # OmegaConf wraps the resolver's own message
        message = str(err).splitlines()[0].split("resolving interpolation: ", 1)[-1]
        raise ConfigError(message) from None
    assert isinstance(plain, dict)
    return plain


def validate(cfg: DictConfig | TrainConfig) -> None:
    """Check every field against its registry or range; raise one error listing them all."""
    if isinstance(cfg, DictConfig):
        resolved(cfg)  # an unresolvable field fails first, by name
    errors: list[str] = []
    m, d, o, t = cfg.model, cfg.data, cfg.optim, cfg.trainer
    _choice(errors, "data.name", d.name, SOURCES.names())
    _choice(errors, "data.preprocessing", d.preprocessing, PREPROCESSING)
    _choice(errors, "model.arch", m.arch, ARCHITECTURES.names())
    _choice(errors, "model.activation", m.activation, ACTIVATIONS.names())
    _choice(errors, "model.init", m.init, INITS.names())
    _choice(errors, "model.norm", m.norm, NORMS.names())
    _choice(errors, "model.norm_position", m.norm_position, NORM_POSITIONS)
    _choice(errors, "model.downsampling", m.downsampling, DOWNSAMPLING.names())
    _choice(errors, "model.head", m.head, HEADS.names())
    _choice(errors, "model.reduction", m.reduction, REDUCTIONS.names())
    _choice(errors, "optim.name", o.name, OPTIMIZERS)
    _choice(errors, "optim.schedule", o.schedule, SCHEDULES)
    _choice(errors, "wandb", cfg.wandb, WANDB_MODES)
    for name, value in [
        ("model.width", m.width),
        ("model.depth", m.depth),
        ("model.stages", m.stages),
        ("model.init_std", m.init_std),
        ("optim.lr", o.lr),
        ("trainer.max_epochs", t.max_epochs),
        ("trainer.max_time_s", t.max_time_s),
        ("trainer.history_every", t.history_every),
        ("data.batch_size", d.batch_size),
        ("probes.batch", cfg.probes.batch),
        ("data.train_limit", d.train_limit),
        ("data.image_size", d.image_size),
    ]:
        _positive(errors, name, value)
    if m.norm_noise < 0:
        errors.append(f"model.norm_noise={m.norm_noise} must be >= 0")
    if m.arch == "inception" and m.width % 4:
        errors.append(f"model.width={m.width} must be a multiple of 4 for model.arch=inception")
    if m.flops_ref:
        _choice(errors, "model.flops_ref", m.flops_ref, CONV_ARCHS)
    if m.reduction != "none" and m.arch not in REDUCING_ARCHS:
        errors.append(f"model.reduction={m.reduction!r} needs model.arch in {REDUCING_ARCHS}")
    if not (0 <= d.val_fraction < 1 and 0 < d.test_fraction < 1):
        errors.append("data.val_fraction must be in [0, 1) and data.test_fraction in (0, 1)")
    elif d.val_fraction + d.test_fraction >= 1:
        errors.append("data.val_fraction + data.test_fraction must leave a training split")
    if any(n <= 0 for n in cfg.probes.shifts):
        errors.append(f"probes.shifts={list(cfg.probes.shifts)} must be positive pixel counts")
    try:
        parse_stem(m.stem)
    except ValueError as err:
        errors.append(str(err))
    if d.folds < 0 or d.folds == 1 or (d.folds and not 0 <= d.fold < d.folds):
        errors.append(
            f"data.folds={d.folds}, data.fold={d.fold}: need folds 0 or >= 2 and 0 <= fold < folds"
        )
    if not 0 <= o.warmup < 1:
        errors.append(f"optim.warmup={o.warmup!r} must be in [0, 1)")
    if t.stall_steps < 0 or t.converge_loss < 0 or not 0 < t.stall_margin < 1:
        errors.append(
            "trainer.stall_steps and trainer.converge_loss must be >= 0, "
            "trainer.stall_margin in (0, 1)"
        )
    if t.max_steps == 0 or t.max_steps < -1:
        errors.append(f"trainer.max_steps={t.max_steps} must be -1 (no limit) or > 0")
    if o.momentum < 0 or o.weight_decay < 0:
        errors.append("optim.momentum and optim.weight_decay must be >= 0")
    if cfg.seed < 0:
        errors.append(f"seed={cfg.seed} must be >= 0")
    try:
        safe_name("study.name", cfg.study.name)
    except ConfigError as err:
        errors.append(str(err))
    if errors:
        raise ConfigError("; ".join(errors))


CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose(
    overrides: list[str] | None = None, config_name: str = "train", with_hydra: bool = False
) -> DictConfig:
    """The config Hydra would give `python -m ablate.train <overrides>`, without running it.

    Composing takes Hydra a few tenths of a second, and planning a study asks for the same
    config many times (its grid, search, controls and expected keys), so each composition
    is kept for as long as no file under conf/ changes; every caller gets its own copy."""
    state = conf_state()
    if state not in _COMPOSED:
        _COMPOSED.clear()  # a conf/ edit makes every kept one stale
    kept = _COMPOSED.setdefault(state, {})
    key = (tuple(overrides or ()), config_name, with_hydra)
    if key not in kept:
        kept[key] = _compose(list(key[0]), config_name, with_hydra)
    return copy.deepcopy(kept[key])


_COMPOSED: dict[tuple, dict[tuple, DictConfig]] = {}  # conf/ state -> kept compositions


def conf_state() -> tuple:
    """Each config file's path, size and modification time: changes when any file does."""
    return tuple(
        (str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(CONF_DIR.rglob("*.yaml"))
    )


def _compose(overrides: list[str], config_name: str, with_hydra: bool) -> DictConfig:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_schema()
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name, overrides=overrides, return_hydra_config=with_hydra)
