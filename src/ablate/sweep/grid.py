"""A study's sweep: its grid as the profile sizes it, checked whole, run as a Hydra multirun.

The grid is the study's `hydra.sweeper.params` with the profile's `profile.sweeps.<study>`
levels on top, then params.yaml's `overrides` (an override of an axis, or a sweep, sets that
axis's levels; any other is a fixed setting of every job), plus `seed=range(n)`. Every level
is validated before the first job starts, so a typo fails in a second instead of after an
hour of training.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from ablate.cli import sigterm_as_ctrl_c
from ablate.config import compose, validate
from ablate.errors import ConfigError
from ablate.sweep.lr_search import SEARCH_SEEDS
from ablate.sweep.params import PROFILES, STUDIES
from ablate.training.progress import PHASE_ENV, write_phase


def split_overrides(
    overrides: Sequence[str], axes: Iterable[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """params.yaml's `overrides` -> (grid axes they set: key -> levels, fixed overrides).
    An override of an existing axis, or any sweep, sets an axis; the rest are fixed."""
    parser = OverridesParser.create()
    axes = set(axes)
    grid: dict[str, str] = {}
    fixed: list[str] = []
    for text in overrides:
        override = parser.parse_override(text)
        if override.is_sweep_override() or override.key_or_group in axes:
            grid[override.key_or_group] = text.split("=", 1)[1]
        else:
            fixed.append(text)
    return grid, fixed


def study_grid(
    profile: str, study: str, seeds: int | None, overrides: Sequence[str] = ()
) -> dict[str, str]:
    """Axis -> Hydra sweep levels ("a,b,c") for `study` under `profile` and `overrides`."""
    for kind, value, valid in (("study", study, STUDIES), ("profile", profile, PROFILES)):
        if value not in valid:
            raise ConfigError(f"{kind}={value!r} is not valid; choose one of: {', '.join(valid)}")
    base = [f"profile={profile}", f"study={study}", *split_overrides(overrides)[1]]
    cfg = compose(base, with_hydra=True)
    grid: dict[str, Any] = dict(OmegaConf.to_container(cfg.hydra.sweeper.params) or {})
    sized = dict(OmegaConf.to_container(cfg.profile.sweeps).get(study, {}))
    own_seeds = sized.pop("seeds", None)  # a profile may give a cheap study more seeds
    grid.update(sized)
    grid.update(split_overrides(overrides, grid)[0])
    grid["seed"] = f"range(0,{seeds or own_seeds or cfg.profile.seeds})"
    return {key: str(value) for key, value in grid.items()}


def expand(grid: dict[str, str]) -> dict[str, list[str]]:
    """Each axis's levels as strings, parsed with Hydra's own override grammar."""
    parser = OverridesParser.create()
    levels: dict[str, list[str]] = {}
    for key, value in grid.items():
        override = parser.parse_override(f"{key}={value}")
        if override.is_sweep_override():
            levels[key] = list(override.sweep_string_iterator())
        else:
            levels[key] = [override.get_value_element_as_str()]
    return levels


def check_grid(
    profile: str, study: str, levels: dict[str, list[str]], fixed: list[str] | None = None
) -> int:
    """Validate every level of every axis against the schema; return the number of jobs.
    `fixed`: overrides every check composes with (e.g. a rate while none is tuned yet)."""
    base = [f"profile={profile}", f"study={study}", *(fixed or [])]
    errors: list[str] = []
    for key, values in levels.items():
        # Each level with every other axis at its first level: a job the grid really runs.
        others = [f"{k}={v[0]}" for k, v in levels.items() if k != key]
        for value in values if key != "seed" else values[:1]:
            try:
                validate(compose([*base, *others, f"{key}={value}"]))
            except ConfigError as err:
                errors.append(str(err))
            except Exception as err:  # Hydra's own errors: unknown key, wrong type
                errors.append(f"{key}={value}: {err}".splitlines()[0])
    if errors:
        raise ConfigError(f"study {study!r} has bad levels: " + "; ".join(sorted(set(errors))))
    return math.prod(len(v) for v in levels.values())


def search_grid(
    profile: str, study: str, seeds: int | None, overrides: Sequence[str] = ()
) -> dict[str, str] | None:
    """The study's per-arm rate search (`study.tune`) as a grid, or None when it has none:
    the `by` axes at their grid levels, the `at` settings, every searched rate, seeds 0
    and 1 (`lr_search.SEARCH_SEEDS`).
    A grid that sweeps `optim.lr` itself needs no search: the report keeps each cell's
    best-validated rate."""
    grid = study_grid(profile, study, seeds, overrides)
    fixed = split_overrides(overrides, grid)[1]
    tune = compose([f"profile={profile}", f"study={study}", *fixed]).study.tune
    if not tune.lr or "optim.lr" in grid:
        return None
    levels = expand(grid)
    fixed_here = {a: grid[a] for a, v in levels.items() if len(v) == 1 and a != "seed"}
    loose = sorted(set(grid) - set(fixed_here) - set(tune.by) - set(tune.at) - {"seed"})
    if loose:
        raise ConfigError(
            f"study {study!r}: grid axes {', '.join(loose)} are in neither study.tune.by "
            "nor study.tune.at, so the rate search cannot tell which level to use"
        )
    search = {**fixed_here, **{axis: grid[axis] for axis in tune.by if axis in grid}}
    search.update({axis: str(value) for axis, value in tune.at.items()})
    search["optim.lr"] = ",".join(f"{lr:g}" for lr in tune.lr)
    search["seed"] = ",".join(str(seed) for seed in range(SEARCH_SEEDS))
    return search


def _multirun(
    profile: str,
    study: str,
    wandb: str,
    grid: dict[str, str],
    fixed: list[str],
    extra: list[str],
    reuse: bool,
) -> None:
    """One Hydra multirun of `grid`. Hydra's sweeper would first compose every job's config
    in this process, serially, while the workers wait (about 0.1 s a job, minutes over the
    pipeline); `check_grid` has already validated every level, and each worker composes its
    own job, so that second check is skipped. Each job's config comes from
    `KeptConfigLoader`: one composition per kind of job, not one per job."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra._internal.hydra import Hydra

    from ablate.sweep.kept_config import KeptConfigLoader
    from ablate.train import main

    argv = ["ablate.train", "-m", f"profile={profile}", f"study={study}", f"wandb={wandb}"]
    argv.append(f"reuse_runs={str(reuse).lower()}")
    argv += [*fixed, *(f"{key}={value}" for key, value in grid.items()), *extra]
    saved, sys.argv = sys.argv, argv
    try:
        with (
            mock.patch.object(BasicSweeper, "validate_batch_is_legal", lambda self, batch: None),
            mock.patch("hydra._internal.hydra.ConfigLoaderImpl", KeptConfigLoader),
            # `-m` decides the mode: no config of this project sets `hydra.mode`, so Hydra's
            # own look (one more composition of the whole sweep) would find None
            mock.patch.object(Hydra, "get_mode", lambda self, config_name, overrides: None),
        ):
            main()
    finally:
        sys.argv = saved


@contextlib.contextmanager
def _progress_phases() -> Iterator[Callable[[int], None]]:
    """A phase file for the progress lines of this sweep's workers (set in the environment
    before any worker starts, so workers kept between the search and the grid see both)."""
    fd, name = tempfile.mkstemp(prefix="ablate-sweep-", suffix=".json")
    os.close(fd)
    path = Path(name)
    saved = os.environ.get(PHASE_ENV)
    os.environ[PHASE_ENV] = name
    try:
        yield lambda total: write_phase(path, total)
    finally:
        path.unlink(missing_ok=True)
        if saved is None:
            os.environ.pop(PHASE_ENV, None)
        else:
            os.environ[PHASE_ENV] = saved


def run_sweep(
    profile: str,
    study: str,
    seeds: int | None,
    wandb: str,
    extra: list[str],
    overrides: Sequence[str] = (),
    reuse_runs: bool = False,
) -> int:
    """Run the study's grid through Hydra's multirun, after its rate search if it has one;
    return the number of grid jobs. `overrides`: params.yaml's; `extra`: the command
    line's (launcher choices, say); `reuse_runs`: keep finished runs of the same configs
    made by other code."""
    from ablate.training.fingerprint import code_fingerprint

    code_fingerprint("cpu")  # snapshot the code now: keys stay those the workers compute
    grid = study_grid(profile, study, seeds, overrides)
    fixed = split_overrides(overrides, grid)[1]
    job_level = [*fixed, *(o for o in extra if not o.lstrip("+~").startswith("hydra"))]
    search = search_grid(profile, study, seeds, overrides)
    with sigterm_as_ctrl_c(), _progress_phases() as phase:  # interrupted: workers stop too

        def launch(part: dict[str, str]) -> None:
            for todo in unfinished(profile, study, part, job_level):
                phase(_count(todo))
                _multirun(profile, study, wandb, todo, fixed, extra, reuse_runs)

        if search is not None:
            levels = expand(search)
            first_rate = levels["optim.lr"][0]
            total = check_grid(profile, study, levels, [*job_level, f"optim.lr={first_rate}"])
            print(f"sweep {study} ({profile}): rate search, {total} runs", file=sys.stderr)
            launch(search)
            while todo := write_search_table(profile, study, search, job_level):
                for arm_grid in todo:  # levels checked above; only the rate is new
                    launch(arm_grid)
        total = check_grid(profile, study, expand(grid), job_level)
        print(f"sweep {study} ({profile}): {total} runs over " + ", ".join(grid), file=sys.stderr)
        launch(grid)
        extend = _extends(compose([f"profile={profile}", f"study={study}", *fixed]), grid)
        while extend and (todo := write_extension_table(profile, study, grid, job_level)):
            for cell_grid in todo:
                launch(cell_grid)
        for control in control_grids(profile, study, seeds, overrides):
            print(
                f"sweep {study} ({profile}): {_count(control)} more control runs", file=sys.stderr
            )
            launch(control)
    return total


def unfinished(
    profile: str, study: str, grid: dict[str, str], fixed: Sequence[str] = ()
) -> list[dict[str, str]]:
    """The parts of `grid` to launch: none when every job has finished, else the grid, or
    the grid split by the levels of one axis where that leaves finished levels out (a grid
    whose search already ran half its cells). A finished job would only be skipped by its
    worker, after about 0.4 s of CPU for dispatch and composition; a sweep started again
    after an edit to its planning code has thousands."""
    from ablate.training.records import FINISHED, read_result, run_dir

    jobs = list(_jobs(profile, study, grid, fixed))
    if jobs and jobs[0][1].rerun:
        return [grid]
    todo = [
        (levels, (read_result(run_dir(cfg)) or {}).get("status") not in FINISHED)
        for levels, cfg in jobs
    ]
    if not any(left for _, left in todo):
        return []
    best, parts = len(todo), [grid]
    for axis, values in expand(grid).items():
        open_levels = [v for v in values if any(left and lv[axis] == v for lv, left in todo)]
        size = len(todo) // len(values) * len(open_levels)
        if size < best:
            best, parts = size, [dict(grid, **{axis: v}) for v in open_levels]
    return parts


def _count(grid: dict[str, str]) -> int:
    """The number of jobs of a grid, without composing any (its levels are checked already:
    an arm or cell of a checked grid at a rate the search chose, or a part of one)."""
    return math.prod(len(v) for v in expand(grid).values())


def _extends(cfg: Any, grid: dict[str, str]) -> bool:
    """Whether the grid's cells extend their swept rates past an edge (`study.extend_lr`)."""
    return bool(cfg.study.extend_lr) and len(expand(grid).get("optim.lr", [])) > 1


def control_grids(
    profile: str, study: str, seeds: int | None, overrides: Sequence[str] = ()
) -> list[dict[str, str]]:
    """Per control arm (`study.controls`), its cells of the grid at the seeds past the
    grid's, up to `profile.control_seeds`: a control is judged on its mean over seeds, so
    it needs more of them than a compared cell. None where the grid has enough seeds, or
    where the arm sets a fixed field to a value this grid never runs."""
    grid = study_grid(profile, study, seeds, overrides)
    levels = expand(grid)
    fixed = split_overrides(overrides, grid)[1]
    cfg = compose([f"profile={profile}", f"study={study}", *fixed])
    have, want = len(levels["seed"]), cfg.profile.control_seeds
    if want <= have:
        return []
    cells = (control_cell(grid, cfg, dict(arm)) for arm in cfg.study.controls)
    return [
        dict(_at_best_rate(profile, study, cell, fixed, grid), seed=f"range({have},{want})")
        for cell in cells
        if cell is not None
    ]


def _at_best_rate(
    profile: str, study: str, cell: dict[str, str], fixed: Sequence[str], grid: dict[str, str]
) -> dict[str, str]:
    """A control cell of a grid that sweeps the rate, narrowed to the rate its cell keeps:
    its extension table's choice where the grid extends its rates (`kept_rates`), else the
    rate its grid seeds validated best (mean over seeds; a run that did not finish ok scores
    0; ties to the lower rate). The control is judged at that rate, so its extra seeds are
    needed there only. Before any grid run has finished, every rate is kept."""
    from ablate.sweep.lr_search import arm_id, arm_of, extension_path
    from ablate.training.records import read_result, run_dir

    if len(expand(cell).get("optim.lr", [])) < 2:
        return cell
    base = compose([f"profile={profile}", f"study={study}", *fixed])
    table = _read_json(extension_path(base.runs_dir, study)) if _extends(base, grid) else None
    if table:
        first = next(iter(job_configs(profile, study, cell, fixed)))
        entry = table["arms"].get(arm_id(arm_of(first, cell_axes(grid))))
        if entry is not None:
            return dict(cell, **{"optim.lr": f"{float(entry['lr']):g}"})
    scores: dict[float, list[float]] = {}
    for cfg in job_configs(profile, study, cell, fixed):
        result = read_result(run_dir(cfg))
        if result is None:
            continue
        ok = result.get("status") == "ok"
        scores.setdefault(float(cfg.optim.lr), []).append(result.get("val_acc", 0.0) if ok else 0.0)
    if not scores:
        return cell
    best = max(sorted(scores), key=lambda lr: (sum(scores[lr]) / len(scores[lr]), -lr))
    return dict(cell, **{"optim.lr": f"{best:g}"})


def control_cell(grid: dict[str, str], cfg: Any, arm: dict[str, Any]) -> dict[str, str] | None:
    """`grid` narrowed to one control arm's levels (the arm's `mark` is its kind of net,
    not a setting); None where the arm asks for a level the grid or its config never has."""
    levels = expand(grid)
    cell = dict(grid)
    for axis, level in arm.items():
        if axis == "mark":
            continue
        text = _level(level)
        if axis in levels:
            if text not in levels[axis]:
                return None
            cell[axis] = text
        elif _level(OmegaConf.select(cfg, axis)) != text:
            return None
    return cell


def _level(value: Any) -> str:
    """A config value as Hydra's override grammar writes it."""
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def job_configs(profile: str, study: str, grid: dict[str, str], fixed: Sequence[str] = ()):
    """The composed config of every job of `grid`, as the multirun would build it."""
    return (cfg for _, cfg in _jobs(profile, study, grid, fixed))


def _jobs(profile: str, study: str, grid: dict[str, str], fixed: Sequence[str] = ()):
    """Every job of `grid`: its levels as override strings, and its composed config."""
    from itertools import product

    base = compose([f"profile={profile}", f"study={study}", *fixed])
    parser = OverridesParser.create()
    axes = []
    for key, value in grid.items():
        override = parser.parse_override(f"{key}={value}")
        if override.is_sweep_override():
            pairs = zip(override.sweep_string_iterator(), override.sweep_iterator(), strict=True)
        else:
            pairs = [(override.get_value_element_as_str(), override.value())]
        axes.append([(key, text, v) for text, v in pairs])
    for job in product(*axes):
        cfg = base.copy()
        for key, _, value in job:
            OmegaConf.update(cfg, key, value, merge=False)
        yield {key: text for key, text, _ in job}, cfg


def search_jobs(
    profile: str, study: str, search: dict[str, str], fixed: Sequence[str], table: dict | None
) -> list[tuple[dict[str, str], Any]]:
    """The search's jobs: its grid, and each arm's extension rates recorded in `table`, run
    or about to be (an arm's jobs at its first searched rate, every seed, moved to each)."""
    from ablate.sweep.lr_search import arm_id, arm_of

    jobs = list(_jobs(profile, study, search, fixed))
    if not table:
        return jobs
    by, first = list(table["by"]), float(expand(search)["optim.lr"][0])
    for levels, cfg in list(jobs):
        entry = table["arms"].get(arm_id(arm_of(cfg, by)))
        if entry is None or float(cfg.optim.lr) != first:
            continue
        for lr in [*entry.get("extended", []), *([entry["next"]] if "next" in entry else [])]:
            moved = cfg.copy()
            OmegaConf.update(moved, "optim.lr", lr, merge=False)
            jobs.append(({**levels, "optim.lr": f"{lr:g}"}, moved))
    return jobs


def write_search_table(
    profile: str, study: str, search: dict[str, str], fixed: Sequence[str]
) -> list[dict[str, str]]:
    """Choose each arm's rate from the search runs on disk, its extensions included; write
    runs/<study>/tuned_lr.json. Returns the grids still to run: one per arm whose choice
    sits at an edge, at its next rate (none once every arm is settled)."""
    from ablate.sweep.lr_search import table_path

    base = compose([f"profile={profile}", f"study={study}", *fixed])
    tune = base.study.tune
    path = table_path(base.runs_dir, study)
    return _settle(profile, study, search, fixed, list(tune.by), path, "rate per arm")


def write_extension_table(
    profile: str, study: str, grid: dict[str, str], fixed: Sequence[str]
) -> list[dict[str, str]]:
    """For a grid that sweeps the rate with `study.extend_lr`: each cell's best rate, its
    extensions included, written to runs/<study>/extended_lr.json; returns the grids still
    to run, one per cell whose best rate sits at an edge of the rates it tried."""
    from ablate.sweep.lr_search import extension_path

    base = compose([f"profile={profile}", f"study={study}", *fixed])
    path = extension_path(base.runs_dir, study)
    return _settle(profile, study, grid, fixed, cell_axes(grid), path, "rate per cell")


def cell_axes(grid: dict[str, str]) -> list[str]:
    """A grid's cell: every axis but the seed and the rate."""
    return [axis for axis in grid if axis not in ("seed", "optim.lr")]


def _settle(
    profile: str,
    study: str,
    grid: dict[str, str],
    fixed: Sequence[str],
    by: list[str],
    path: Path,
    what: str,
) -> list[dict[str, str]]:
    """Score every rate of `grid` (a search, or a grid sweeping the rate) per `by` group,
    the half-decade extensions recorded at `path` included; write the new table there and
    return a grid per group still at an edge, at its next rate."""
    from ablate.io import atomic_write_text
    from ablate.sweep.lr_search import arm_id, arm_of, build_table, pending
    from ablate.training.records import read_result, run_dir

    levels = [float(lr) for lr in expand(grid)["optim.lr"]]
    before = _read_json(path)
    if before is not None and (before.get("by") != by or before.get("levels") != sorted(levels)):
        before = None  # another grid's extensions do not belong to this one
    jobs = search_jobs(profile, study, grid, fixed, before)
    # An extension rate without a result has not run (a sweep stopped mid-way, or a config
    # change gave it a new run key): it is still to run, not a failure. Left out, the arm's
    # choice sits at the edge again and asks for it; counted, it would read as diverged.
    scored = [(c, read_result(run_dir(c))) for _, c in jobs]
    scored = [(c, r) for c, r in scored if r is not None or float(c.optim.lr) in levels]
    table = build_table(levels, by, scored, validation_images(jobs[0][1]) if jobs else None)
    atomic_write_text(path, json.dumps(table, indent=2) + "\n")
    todo = pending(table)
    grids = {}
    for job, cfg in jobs:
        arm = arm_id(arm_of(cfg, by))
        if arm in todo and arm not in grids:
            grids[arm] = {**grid, **{a: job[a] for a in by if a in job}}
            grids[arm]["optim.lr"] = f"{todo[arm]:g}"
    settled = {arm: entry["edge"] for arm, entry in table["arms"].items() if entry["edge"]}
    print(
        f"sweep {study}: {what} -> {path}"
        + (f"; {len(grids)} at an edge extend by half a decade" if grids else "")
        + (f"; flagged: {'; '.join(f'{a} ({e})' for a, e in settled.items())}" if settled else ""),
        file=sys.stderr,
    )
    return list(grids.values())


def validation_images(cfg: Any) -> int:
    """How many images score a job's validation accuracy (its held-out fold under
    cross-validation): the size behind the standard error of the search's back-off rule."""
    import numpy as np

    from ablate.data.prepare import load

    splits = load(cfg.data).splits
    if not cfg.data.folds:
        return len(splits["val"])
    train = splits["train"][: cfg.data.train_limit] if cfg.data.train_limit else splits["train"]
    return len(np.array_split(train, cfg.data.folds)[cfg.data.fold])


def expected_keys(
    profile: str, study: str, seeds: int | None, overrides: Sequence[str] = ()
) -> dict[str, str]:
    """The run keys of the study's current grid, rate search and extra control seeds, each
    with its role (`grid`, `lr_search` or `control`): what the aggregate keeps. Runs left
    over from an earlier grid or budget stay on disk (their keys may come back) but are not
    mixed into the results."""
    from ablate.sweep.lr_search import extension_path, table_path
    from ablate.training.keys import run_key

    keys: dict[str, str] = {}
    grid = study_grid(profile, study, seeds, overrides)
    fixed = split_overrides(overrides, grid)[1]
    search = search_grid(profile, study, seeds, overrides)
    base = compose([f"profile={profile}", f"study={study}", *fixed])
    if search is not None:
        table = _read_json(table_path(base.runs_dir, study))
        jobs = search_jobs(profile, study, search, fixed, table)
        keys.update((run_key(cfg), "lr_search") for _, cfg in jobs)
    with contextlib.suppress(ConfigError):  # no search table yet: the grid has no rates
        extended = (
            _read_json(extension_path(base.runs_dir, study)) if _extends(base, grid) else None
        )
        jobs = search_jobs(profile, study, grid, fixed, extended)
        keys.update((run_key(cfg), "grid") for _, cfg in jobs)
        for control in control_grids(profile, study, seeds, overrides):
            keys.update(
                (run_key(c), "control") for c in job_configs(profile, study, control, fixed)
            )
    return keys


def kept_rates(
    profile: str, study: str, seeds: int | None, overrides: Sequence[str] = ()
) -> dict[str, float]:
    """For a grid that sweeps and extends its rates (`study.extend_lr`): run key -> the rate
    its cell keeps, as its extension table chose it (best mean validation accuracy, a
    diverged seed at 0, backed off a cliff; the lowest rate that ran where none trains).
    Every run of a cell (its grid, extension and control seeds) maps to the same rate, so
    the analysis compares each cell at the rate the sweep chose for it. Empty otherwise."""
    from ablate.sweep.lr_search import arm_id, arm_of, extension_path
    from ablate.training.keys import run_key

    grid = study_grid(profile, study, seeds, overrides)
    fixed = split_overrides(overrides, grid)[1]
    base = compose([f"profile={profile}", f"study={study}", *fixed])
    table = _read_json(extension_path(base.runs_dir, study)) if _extends(base, grid) else None
    if not table:
        return {}
    by = cell_axes(grid)
    jobs = [cfg for _, cfg in search_jobs(profile, study, grid, fixed, table)]
    for control in control_grids(profile, study, seeds, overrides):
        jobs += list(job_configs(profile, study, control, fixed))
    kept = {}
    for cfg in jobs:
        entry = table["arms"].get(arm_id(arm_of(cfg, by)))
        if entry is not None:
            kept[run_key(cfg)] = float(entry["lr"])
    return kept


def _read_json(path: Path) -> dict | None:
    """A written rate table (its extension rates), or None before the first one."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
