"""What every report section reads: the run table, the pipeline params, where figures go."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ablate.analysis.collect import AXES
from ablate.analysis.rules.common import Verdict
from ablate.analysis.tuning import select_best_lr
from ablate.sweep.params import STUDIES


def load_questions() -> list[dict[str, str]]:
    text = resources.files("ablate.report").joinpath("questions.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@dataclass
class Section:
    """One block of the report; `verdicts` feed the summary table."""

    anchor: str
    title: str
    body: str
    verdicts: list[Verdict] = field(default_factory=list)


def _order(value: object) -> tuple[int, float | str]:
    """Numbers before names, numbers by value: levels read in their natural order."""
    try:
        return (0, float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return (1, str(value))


@dataclass
class Context:
    runs: pd.DataFrame  # every run of every study, any status
    params: dict[str, Any]
    out_dir: Path  # reports/
    probes: pd.DataFrame = field(default_factory=pd.DataFrame)  # per layer, per probe point
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # loss curves
    cost: pd.DataFrame = field(default_factory=pd.DataFrame)  # activation microbenchmark
    tuning: dict[str, Any] = field(default_factory=dict)  # study -> per-arm rate search table
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)  # variance decomposition

    def chance(self, study: str) -> float:
        classes = self.study(study, status=None)["classes"].dropna()
        return 1.0 / (float(classes.iloc[0]) if len(classes) else 10.0)

    def layers(self, study: str, kind: str, when: str = "init") -> pd.DataFrame:
        """Per-layer probe rows of `study` joined with the runs' axes."""
        if self.probes.empty:
            return pd.DataFrame()
        rows = self.probes[
            (self.probes["study"] == study)
            & (self.probes["kind"] == kind)
            & (self.probes["when"] == when)
        ]
        return rows.merge(self.study(study, status=None).drop(columns=["study"]), on="key")

    def curves(self, study: str) -> pd.DataFrame:
        if self.history.empty:
            return pd.DataFrame()
        rows = self.history[self.history["study"] == study]
        return rows.merge(self.study(study, status=None).drop(columns=["study"]), on="key")

    @property
    def figures(self) -> Path:
        return self.out_dir / "figures"

    def figure(self, name: str) -> tuple[Path, str]:
        """The file path of a figure, and its link relative to the report."""
        return self.figures / name, f"figures/{name}"

    def study(self, name: str, status: str | None = "ok") -> pd.DataFrame:
        """The grid runs of study `name` (never its rate-search runs) with that status."""
        rows = self.runs[self.runs["study"] == name]
        if "role" in rows:
            rows = rows[rows["role"].fillna("grid") == "grid"]
        return rows if status is None else rows[rows["status"] == status]

    def tuned(self, study: str, cell_axes: list[str]) -> pd.DataFrame:
        """Finished runs of `study` at each cell's best-validated learning rate."""
        return select_best_lr(self.study(study), cell_axes)

    def missing_reason(self, study: str) -> str | None:
        """Why a study has no evidence, or None when it has finished runs."""
        if study not in STUDIES:
            return f"study `{study}` is not defined yet (no conf/study/{study}.yaml)"
        if study not in self.params.get("studies", []):
            return f"study `{study}` is not in params.yaml `studies`"
        if self.study(study).empty:
            return f"study `{study}` has no finished runs"
        return None

    def describe(self, study: str, tuned: bool = False) -> str:
        """What was run: axes and levels, seeds, data and budget, as one paragraph."""
        df = self.study(study, status=None)
        varied = [
            a
            for a in [*AXES, "preprocessing", "fold"]
            if a in df and df[a].nunique(dropna=True) > 1  # older tables lack newer axes
        ]
        levels = "; ".join(
            f"{a} ∈ {{{', '.join(map(str, sorted(pd.unique(df[a].dropna()), key=_order)))}}}"
            for a in varied
        )
        first = df.iloc[0]
        stopped = int(df["stopped"].notna().sum()) if "stopped" in df else 0
        seeds = df["seed"].nunique()
        preprocessing = (
            "" if "preprocessing" in varied else f", preprocessing `{first['preprocessing']}`"
        )
        every = self.runs[self.runs["study"] == study]
        extra = every[every["role"] == "control"] if "role" in every else every.iloc[0:0]
        controls = (
            f"; plus {len(extra)} runs of its control cell on seeds "
            f"{', '.join(str(int(s)) for s in sorted(extra['seed'].unique()))}, which only "
            "judge the control against its mark"
            if len(extra)
            else ""
        )
        text = (
            f"Study `{study}`: {len(df)} runs ({seeds} seed{'s' if seeds != 1 else ''} per "
            f"cell{controls}) over {levels or 'one cell'}. Data `{first['dataset']}` "
            f"({_int(first['train_limit'])} training images{_side(first)}{preprocessing}), "
            f"{_budget(first)} of {first['optimizer']}, batch "
            f"{_int(first['batch_size'])}, width {_int(first['width'])}; "
            + self._rates(study, df)
            + "."
        )
        if stopped:
            why = {
                "stalled": "`stalled` (no progress from the uniform-guess loss within the first "
                "steps, and no better than guessing on validation)",
                "converged": "`converged` (training loss ~0)",
            }
            kinds = df["stopped"].dropna().value_counts()
            text += (
                f" {stopped} run{'s' if stopped != 1 else ''} stopped early: "
                + ", ".join(f"{n} {why.get(str(k), f'`{k}`')}" for k, n in kinds.items())
                + "; they are results, not failures."
            )
        if tuned and df["lr"].nunique() > 1 and study not in self.tuning:
            text += " The learning rate is tuned per grid cell on validation accuracy."
        return text

    def _rates(self, study: str, df: pd.DataFrame) -> str:
        """Which rates the runs used, and how they were chosen."""
        found = self.tuning.get(study)
        if found:
            by = ", ".join(a.rsplit(".", 1)[-1] for a in found["by"])
            return (
                f"the rate searched per arm ({by}) over "
                f"{{{', '.join(f'{lr:g}' for lr in found['levels'])}}} on seeds "
                f"{', '.join(str(s) for s in found['seeds'])} (extended past an edge "
                "choice), then reused: "
                f"{_lrs(df)}"
            )
        return f"lr {_lrs(df)}" + _extended(df)

    def reproduce(self, study: str) -> str:
        profile = self.params.get("profile", "cpu")
        return (
            f"Reproduce: `dvc repro sweep@{study}` (profile `{profile}`, seeds and overrides "
            "from params.yaml), or the same grid, rate search and seeds outside the "
            f"pipeline's outputs: `python pipelines/sweep.py {study} runs_dir=runs/hand`."
        )


def _budget(run: pd.Series) -> str:
    """The run's budget as configured: steps (with the schedule) or epochs."""
    steps = run.get("max_steps")
    if steps is not None and steps == steps and int(steps) > 0:
        schedule = run.get("schedule")
        return f"{int(steps)} steps" + (f" ({schedule})" if isinstance(schedule, str) else "")
    return f"{_int(run['max_epochs'])} epochs"


def _lrs(df: pd.DataFrame) -> str:
    rates = sorted(df["lr"].dropna().unique())
    if len(rates) == 1:
        return f"{rates[0]:g}"
    return "{" + ", ".join(f"{r:g}" for r in rates) + "}"


def _extended(df: pd.DataFrame) -> str:
    """Where a swept grid's cells ran different rates (some extended past an edge): the
    rates every cell ran, and each cell's extra ones."""
    cells = [a for a in [*AXES, "preprocessing"] if a in df and df[a].nunique(dropna=True) > 1]
    if not cells or df["lr"].nunique() < 2:
        return ""
    per_cell = df.groupby(cells, dropna=False)["lr"].agg(lambda r: frozenset(r.dropna()))
    common = frozenset.intersection(*per_cell)
    extra = {cell: rates - common for cell, rates in per_cell.items() if rates - common}
    if not extra:
        return ""

    def name(cell: object) -> str:
        values = cell if isinstance(cell, tuple) else (cell,)
        return ", ".join(f"{a}={v}" for a, v in zip(cells, values, strict=True) if v == v)

    return (
        f" (every cell ran {{{', '.join(f'{r:g}' for r in sorted(common))}}}; extended past an "
        "edge choice: "
        + "; ".join(
            f"{name(c)} also {', '.join(f'{r:g}' for r in sorted(rates))}"
            for c, rates in extra.items()
        )
        + ")"
    )


def _int(value: Any) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "all"


def _side(run: pd.Series) -> str:
    """', resampled to N px' where the run's images were resampled (`data.image_size`)."""
    size = run.get("image_size")
    return f", resampled to {int(size)} px" if pd.notna(size) else ""
