import itertools
from pathlib import Path

import pandas as pd

from ablate.analysis.importance import importance_table
from ablate.analysis.rules.common import Verdict, not_run
from ablate.report import importance
from ablate.report.context import Context

TERMS = {  # term: (kind, share, lo, hi, p of its F test against seed noise), whole main grid
    "norm": ("main", 0.40, 0.35, 0.45, 1e-6),
    "init": ("main", 0.25, 0.20, 0.30, 1e-4),
    "downsampling": ("main", 0.001, 0.0, 0.004, 0.6),
    "init:norm": ("interaction", 0.20, 0.15, 0.25, 1e-3),
    "init:downsampling": ("interaction", 0.01, 0.0, 0.02, 0.3),
    "norm:downsampling": ("interaction", 0.002, 0.0, 0.01, 0.7),
    "higher-order": ("higher_order", 0.007, 0.0, 0.02, 0.5),
    "seed-to-seed": ("residual", 0.13, 0.10, 0.16, float("nan")),
}


def decomposition() -> pd.DataFrame:
    rows = [
        {
            "study": "main",
            "scope": "all",
            "term": t,
            "kind": k,
            "share": s,
            "lo": lo,
            "hi": hi,
            "p": p,
        }
        for t, (k, s, lo, hi, p) in TERMS.items()
    ]
    family = {"scope": "arch=plain", "kind": "main", "lo": 0.0, "hi": 0.0}
    rows += [  # in plain nets init leads, not norm
        {"study": "main", "term": "init", "share": 0.5, **family},
        {"study": "main", "term": "norm", "share": 0.3, **family},
        {"study": "main", "term": "higher-order", **family, "share": 0.0},
        {"study": "main", "term": "seed-to-seed", **family, "share": 0.2, "kind": "residual"},
    ]
    rows += [
        {"study": "zero_init", "scope": "all", "term": t, "kind": k, "share": s, "lo": 0, "hi": 1}
        for t, k, s in [
            ("init", "main", 0.9),
            ("higher-order", "higher_order", 0.0),
            ("seed-to-seed", "residual", 0.1),
        ]
    ]
    return pd.DataFrame(rows).assign(runs=8, label=lambda d: d["scope"] + d["term"])


def runs() -> pd.DataFrame:
    """Small init collapses without BN and is rescued with it; downsampling does nothing."""
    rows = []
    for i, (norm, init, down, seed) in enumerate(
        itertools.product(
            ["none", "batch"], ["small_normal", "kaiming"], ["maxpool", "avgpool"], [0, 1]
        )
    ):
        acc = 0.95 if (norm == "batch" or init == "kaiming") else 0.2
        rows.append(
            {
                "study": "main",
                "key": f"k{i}",
                "status": "ok",
                "seed": seed,
                "norm": norm,
                "init": init,
                "downsampling": down,
                "activation": "relu",
                "arch": "plain",
                "lr": 0.01,
                "val_acc": acc,
                "test_acc": acc + 0.001 * seed,
                "classes": 10,
            }
        )
    return pd.DataFrame(rows)


VERDICTS = {"B2": Verdict("B2", "supported", "", ""), "C3": Verdict("C3", "refuted", "", "")}


def test_findings_follow_the_rules():
    found = importance.findings(decomposition(), runs(), VERDICTS)
    assert 3 <= len(found) <= 5
    top, pair, floor, least, families = found
    # The largest term, its direction from level means, its question and verdict, and its
    # interaction (above the noise floor) in the same sentence.
    assert top.startswith("**norm** explains 40.0% [35.0, 45.0]")
    assert "batch averages 0.950" in top and "none" in top
    assert "[B2](#b2): *supported*" in top and "interaction with init another 20.0%" in top
    assert pair.startswith("The largest other interaction is **init × downsampling**, 1.0%")
    assert "init moves mean accuracy by 0.375 at downsampling=" in pair
    assert "3 of 6 terms are told apart from it" in floor and "norm, init, init × norm" in floor
    assert "not told apart from seed noise: main effects and pairs" in floor
    assert least.startswith("**downsampling** explains 0.1%")
    assert "not told apart from seed noise (p = 0.6, Holm-adjusted 1)" in least
    assert "[C3](#c3): *refuted*" in least
    assert "in plain, **init** comes first" in families


def test_findings_link_only_to_sections_that_ran():
    verdicts = {**VERDICTS, "B2": not_run("B2", "study `bn` is not in params.yaml `studies`")}
    top, pair, *_ = importance.findings(decomposition(), runs(), verdicts)
    assert "[B2]" not in top and "[main effects](#main-effects)" in top
    assert "#interactions" not in pair  # init × downsampling has no table of its own


def test_section_renders_chart_findings_and_tables(tmp_path: Path):
    ctx = Context(runs(), {"studies": ["main"]}, tmp_path, importance=decomposition())
    section = importance.section(ctx, VERDICTS)
    assert section.anchor == "what-matters"
    assert (tmp_path / "figures" / "importance.png").stat().st_size > 10_000
    assert "](figures/importance.png)" in section.body and "eta-squared" in section.body
    assert (
        "**Key findings**" in section.body
        and "| init × norm | 20.0% [15.0, 25.0] |" in section.body
    )
    assert "| whole grid | plain |" in section.body
    assert "`zero_init` ([A3](#a3))" in section.body


def test_section_without_a_decomposition_says_why(tmp_path: Path):
    ctx = Context(runs(), {"studies": []}, tmp_path)
    assert "Nothing to decompose" in importance.section(ctx, {}).body


def test_a_term_clears_seed_noise_only_after_holm():
    terms = pd.DataFrame({"p": [0.001, 0.03, 0.04]}, index=["a", "b", "c"])
    held = importance._with_holm(terms, ["a", "b", "c"])
    assert [importance._clears(held.loc[t]) for t in "abc"] == [True, False, False]
    assert importance._clears(terms.loc["b"])  # uncorrected, 0.03 would pass


def test_section_opens_with_what_decides_training(tmp_path: Path):
    at_floor = runs().assign(test_acc=lambda d: d["test_acc"].where(d["test_acc"] > 0.5, 0.15))
    ctx = Context(at_floor, {"studies": ["main"]}, tmp_path, importance=decomposition())
    body = importance.section(ctx, VERDICTS).body
    first, second = body.index("What decides whether a net trains"), body.index("What moves")
    assert first < second < body.index("**Key findings**")
    # Small init collapses without BN: 12 of 16 runs train, and two levels decide alone.
    assert "12/16 (75.0% [47.6, 92.7]) of the main grid's runs do" in body
    reading = body[body.index("*Reading:*") :].split("\n")[0]
    assert "**init=kaiming**: every run trains (8/8, exact 95% CI 100.0% [63.1, 100.0])" in reading
    assert (
        "**norm=batch**: every run trains" in reading and "the 4 runs left none trains" in reading
    )
    assert "| init | small_normal | 4/8 | 50.0% [15.7, 84.3] |  |" in body
    assert "| norm | batch | 8/8 | 100.0% [63.1, 100.0] | step " in body
    assert "in none of the 8 cells do the seeds disagree" in body
    assert "not fitted: all 4 remaining runs failed to train" in body
    assert "8 runs, of the cells where every seed trained: 4 of 8, within init = kaiming" in body


def test_rates_are_described_from_the_study_config():
    both = pd.DataFrame({"arch": ["plain", "resnet"]})
    text = importance.rate_text(both, "main")
    assert "searched per (activation, init, norm, downsampling) arm" in text
    assert "cells with another arch reuse their arch=plain twin's rate" in text
    assert "each cell's best" not in text
    assert "reuse" not in importance.rate_text(both[both["arch"] == "plain"], "main")


def test_a_degenerate_share_is_never_printed_as_measured():
    row = pd.Series({"share": 0.0001, "lo": 0.0, "hi": 0.0})
    assert importance.ci(row).startswith("not measured")
    nan = pd.Series({"share": float("nan"), "lo": 0.0, "hi": 0.1})
    assert importance.ci(nan).startswith("not measured")
    tiny = importance.ci(pd.Series({"share": 0.0001, "lo": 0.0, "hi": 0.0002}))
    assert tiny == "<0.05% (its whole CI too)" and "[0.0, 0.0]" not in tiny
    terms = pd.DataFrame(
        {"kind": ["main", "main"], "share": [0.5, float("nan")], "lo": 0.4, "hi": 0.6},
        index=["a", "b"],
    )
    assert list(importance.ranked(terms).index) == ["a"]


def test_other_studies_say_how_many_runs_train():
    other = runs().assign(study="zero_init")
    text = importance.others_table(decomposition(), other)
    # 0.2 + 0.001 * seed: seed 1 of a collapsed cell clears 1/10 + 0.1, so 14 of 16 train.
    # One measured term: the second column stays empty, the seed share in its own column.
    row = (
        "| `zero_init` ([A3](#a3)) | 8 | 14/16 | init 90.0% [0.0, 100.0] |  | 10.0% [0.0, 100.0] |"
    )
    assert row in text


def test_without_trained_cells_the_section_still_says_what_decides_training(tmp_path: Path):
    one_seed = runs().query("seed == 0")
    table = importance_table(one_seed, resamples=5)
    assert "main" not in set(table["study"])  # one seed: no cell can show seed noise
    ctx = Context(one_seed, {"studies": ["main"]}, tmp_path, importance=table)
    body = importance.section(ctx, VERDICTS).body
    assert "What decides whether a net trains at all" in body
    assert body.endswith(
        "Nothing to decompose among nets that train: no cell trained on every seed, "
        "with at least 2 seeds."
    )
