"""Each arm at a learning rate that suits it: a small per-arm rate search the grid reuses.

A study with `study.tune.lr` first trains every arm (each combination of the `tune.by`
axes) at every searched rate, on seeds 0 and 1 (SEARCH_SEEDS), at the `tune.at` settings.
Each arm keeps the rate with the best validation accuracy averaged over the seeds (a
diverged or failed seed scores 0, the worst; ties go to the lower rate). One seed cannot
choose: two rates a few tenths of a point apart swap places from seed to seed.

A best rate next to a cliff (the next rate up loses more than LEARNED_MARGIN of accuracy, or
a seed diverges there) is where a seed the search did not see may fall off: two seeds
cannot show that risk. There the arm backs off to the next rate down when that rate scores
within one standard error of the best (binomial, on the validation images): the one-SE
rule (Breiman et al. 1984), applied toward stability (`edge: "cliff"`, `cliff_from`).

A choice at an edge of the rates tried (or one tied by the edge rate) says only that the
best may lie beyond it, so the arm is extended by half a decade in that direction
(`next_rate`), both seeds, and chooses again, until its choice is interior (`edge: false`),
the next rate diverged on every seed (`"diverged-next"`), or MAX_EXTENSIONS rates were
added (`"limit"`). An arm that learns at no rate tried (every mean at most the
majority-class share + LEARNED_MARGIN) records `trains: false`, `edge: "no-train"`. A cap
on the rates tried must never be why a net does not train, so such an arm is extended
upward until a seed diverges at the top rate (a larger step only diverges sooner) or
MAX_EXTENSIONS rates were added; downward instead where a seed diverges even at the
lowest rate, or where its best mean sits at the bottom and above chance by half that margin
(it partly learns there). Its grid runs at the rate
where it partly learns, else at its lowest rate that did not diverge, so the report still
has its runs and says it trains at no rate tried.
A grid that sweeps the rate itself has no search; with `study.extend_lr` its cells (every
axis but seed and rate) are extended the same way after the grid, recorded in
`runs/<study>/extended_lr.json`.

The outcome is written to `runs/<study>/tuned_lr.json`. The grid then sets
`optim.lr: ${tuned_lr:}`, which resolves, per job, to its arm's rate: the run key holds the
resolved rate, so a new search result retrains exactly the arms whose rate moved. A search
run that matches a grid job (seed 0 or 1, the `at` cell, the chosen rate) is the same run:
it trains once.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablate.analysis.outcomes import LEARNED_MARGIN
from ablate.errors import ConfigError

TABLE = "tuned_lr.json"
EXTENDED = "extended_lr.json"
SEARCH_SEEDS = 2  # seeds 0 and 1: the grid's first two seeds, so those runs are shared
MAX_EXTENSIONS = 3  # half-decade steps past the searched levels, per arm
EDGES = (False, "diverged-next", "limit", "no-train", "cliff")


def arm_of(cfg: DictConfig, by: list[str]) -> dict[str, Any]:
    return {axis: OmegaConf.select(cfg, axis) for axis in by}


def arm_id(arm: dict[str, Any]) -> str:
    return ",".join(f"{axis}={arm[axis]}" for axis in sorted(arm))


def table_path(runs_dir: str | Path, study: str) -> Path:
    return Path(runs_dir) / study / TABLE


def extension_path(runs_dir: str | Path, study: str) -> Path:
    """Where a grid that sweeps the rate records its cells' extensions (`study.extend_lr`)."""
    return Path(runs_dir) / study / EXTENDED


def tuned_lr(*, _root_: DictConfig) -> float:
    """The resolver behind `${tuned_lr:}`: this job's arm's searched rate."""
    study, by = _root_.study.name, list(_root_.study.tune.by)
    path = table_path(_root_.runs_dir, study)
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigError(
            f"optim.lr is tuned per arm but {path} is missing: run the study's sweep "
            f"(`python pipelines/sweep.py {study}`), whose search phase writes it"
        ) from None
    arm = arm_id(arm_of(_root_, by))
    if arm not in table["arms"]:
        raise ConfigError(f"no tuned rate for arm {arm} in {path}; rerun the study's sweep")
    return float(table["arms"][arm]["lr"])


def register_resolver() -> None:
    if not OmegaConf.has_resolver("tuned_lr"):
        OmegaConf.register_new_resolver("tuned_lr", tuned_lr)


def next_rate(lr: float, up: bool) -> float:
    """Half a decade above (below) `lr`: x (/) sqrt(10), to 3 significant figures, landing
    exactly on the decade when the step comes back to one (0.316 -> 1, not 0.999)."""
    exponent = math.log10(lr) + (0.5 if up else -0.5)
    if abs(2 * exponent - round(2 * exponent)) < 0.01:
        exponent = round(2 * exponent) / 2
    return float(f"{10**exponent:.3g}")


def mean_score(per_seed: list[float | None]) -> float | None:
    """An arm's score at one rate: the mean validation accuracy over its seeds, a seed
    without a score (diverged, failed) counting 0; None when no seed has a score."""
    if all(score is None for score in per_seed):
        return None
    return sum(score or 0.0 for score in per_seed) / len(per_seed)


def choose(scores: dict[float, float | None]) -> float:
    """The best-scored rate; a rate without a score (every seed diverged) ranks last, and
    ties go to the lower rate."""
    return max(sorted(scores), key=lambda lr: (-1.0 if scores[lr] is None else scores[lr], -lr))


def build_table(
    levels: list[float],
    by: list[str],
    jobs: list[tuple[DictConfig, dict[str, Any] | None]],
    val_images: int | None = None,
) -> dict:
    """The search's outcome from its jobs (config, finished result or None), the arms'
    extension runs included: per arm, every rate's validation accuracy per seed and its
    mean, the chosen rate, `trains`, `edge` (one of EDGES) and, while the arm must still be
    extended, `next`: the rate to run next. The arm comes from the job's config, not the
    result's: jobs that differ only in a moot field (a linear model's activation) share one
    run and its result. `val_images` sizes the standard error of the back-off from a cliff;
    None (unknown) never backs off."""
    found: dict[str, dict[str, Any]] = {}
    seeds = sorted({int(cfg.seed) for cfg, _ in jobs})
    for cfg, result in jobs:
        arm = found.setdefault(
            arm_id(arm_of(cfg, by)), {"seeds": {}, "floor": 0.0, "diverged": set()}
        )
        ok = result is not None and result.get("status") == "ok"
        per_seed = arm["seeds"].setdefault(float(cfg.optim.lr), {})
        per_seed[str(cfg.seed)] = result.get("val_acc") if ok else None
        arm["floor"] = max(arm["floor"], _floor(result))
        if result is not None and result.get("status") == "diverged":
            arm["diverged"].add(float(cfg.optim.lr))
    arms = {
        name: _entry(sorted(levels), arm["seeds"], arm["floor"], val_images, arm["diverged"])
        for name, arm in found.items()
    }
    return {
        "levels": sorted(levels),
        "by": by,
        "seeds": seeds,
        "val_images": val_images,
        "arms": dict(sorted(arms.items())),
    }


def _floor(result: dict[str, Any] | None) -> float:
    """The accuracy of guessing the majority class (1/classes where the share is not
    recorded) plus the margin a net must clear to have learned; 0 with nothing recorded."""
    if not result:
        return 0.0
    if result.get("majority_acc") is not None:
        return float(result["majority_acc"]) + LEARNED_MARGIN
    return 1 / result["classes"] + LEARNED_MARGIN if result.get("classes") else 0.0


def back_off(
    means: dict[float, float | None],
    seeds: dict[float, dict[str, float | None]],
    lr: float,
    val_images: int | None,
) -> float:
    """`lr`, or the next rate down where `lr` sits next to a cliff and that rate scores
    within one binomial standard error of `lr`'s mean (the one-SE rule, toward stability)."""
    tried = sorted(means)
    at = tried.index(lr)
    best = means[lr]
    if not val_images or best is None or at == 0 or at == len(tried) - 1:
        return lr
    up, down = tried[at + 1], tried[at - 1]
    cliff = (
        means[up] is None
        or means[up] < best - LEARNED_MARGIN
        or any(score is None for score in seeds[up].values())
    )
    se = math.sqrt(best * (1 - best) / val_images)
    lower = means[down]
    return down if cliff and lower is not None and lower >= best - se else lr


def _entry(
    levels: list[float],
    seeds: dict[float, dict[str, float | None]],
    floor: float,
    val_images: int | None,
    diverged: set[float] = frozenset(),
):
    means = {lr: mean_score(list(per_seed.values())) for lr, per_seed in seeds.items()}
    tried = sorted(means)
    trains = any(mean is not None and mean > floor for mean in means.values())
    entry: dict[str, Any] = {
        "scores": {
            f"{lr:g}": {"mean": means[lr], "seeds": dict(sorted(seeds[lr].items()))} for lr in tried
        },
        "extended": [lr for lr in tried if lr not in levels],
        "trains": trains,
    }
    if not trains:
        live = [lr for lr in tried if means[lr] is not None]
        best = choose(means)
        partly = means[best] is not None and means[best] > floor - LEARNED_MARGIN / 2
        # Above chance at the bottom, or a seed diverged even there: it may train below
        # (a run that failed for another reason, e.g. an error, says nothing of the rate).
        down = (partly and best == tried[0]) or tried[0] in diverged
        # The lowest rate that ran keeps the runs, unless it partly learns at an edge.
        at_edge = partly and best in (tried[0], tried[-1])
        entry["lr"], entry["edge"] = best if at_edge else (live or tried)[0], "no-train"
        top_diverged = any(score is None for score in seeds[tried[-1]].values())
        if (
            len(levels) > 1
            and len(entry["extended"]) < MAX_EXTENSIONS
            and (down or not top_diverged)
        ):
            # A cap on the rates tried must not be why a net does not train: up until a seed
            # diverges (a larger step only diverges sooner), or down where it partly learns.
            entry["next"] = next_rate(tried[0] if down else tried[-1], up=not down)
        return entry
    best = choose(means)
    lr = back_off(means, seeds, best, val_images)
    entry["lr"], entry["edge"] = lr, False if lr == best else "cliff"
    if lr != best:
        entry["cliff_from"] = best
    at = tried.index(lr)
    neighbours = tried[max(at - 1, 0) : at] + tried[at + 1 : at + 2]
    # An edge rate that ties the best (ties go to the lower rate) may be beaten beyond it.
    tie = next(
        (
            e
            for e in (tried[-1], tried[0])
            if lr == best != e and means[e] is not None and math.isclose(means[e], means[best])
        ),
        None,
    )
    edge = lr if lr in (tried[0], tried[-1]) else tie
    if len(levels) > 1 and edge is not None:
        if len(entry["extended"]) >= MAX_EXTENSIONS:
            entry["edge"] = "limit"
        else:
            entry["next"] = next_rate(edge, up=edge == tried[-1])
    elif any(means[n] is None and n in entry["extended"] for n in neighbours):
        entry["edge"] = "diverged-next"  # extended to a rate where every seed diverged
    return entry


def pending(table: dict) -> dict[str, float]:
    """Arm -> the rate each arm whose choice sits at an edge must try next."""
    return {arm: entry["next"] for arm, entry in table["arms"].items() if "next" in entry}
