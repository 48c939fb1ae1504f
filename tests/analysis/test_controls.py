"""The trained guard: controls that miss their mark turn every verdict inconclusive."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.controls import check, check_study, val_drop
from ablate.analysis.rules.common import Verdict
from ablate.report.controls import guard, section

MARKS = {"conv": 0.97, "deep_mlp": 0.90}


def runs(acc_batch: list[float], acc_none: list[float]) -> pd.DataFrame:
    rows = []
    for norm, accs in (("batch", acc_batch), ("none", acc_none)):
        for seed, acc in enumerate(accs):
            rows.append(
                {
                    "key": f"{norm}{seed}",
                    "status": "ok",
                    "norm": norm,
                    "activation": "relu",
                    "lr": 0.1,
                    "val_acc": acc,
                    "test_acc": acc,
                    "steps": 300,
                    "seed": seed,
                }
            )
    return pd.DataFrame(rows)


def curve(key: str, losses: list[float]) -> pd.DataFrame:
    steps = [100 * (i + 1) for i in range(len(losses))]
    return pd.DataFrame({"key": key, "step": steps, "val_loss": losses})


def test_a_control_above_its_mark_that_plateaued_is_trained():
    table = runs([0.975, 0.980], [0.5, 0.6])
    history = pd.concat([curve("batch0", [1.0, 0.2, 0.1, 0.1, 0.099])])
    c = check("s", table, history, {"model.norm": "batch"}, "conv", MARKS)
    assert c.trained and c.acc.n == 2 and abs(c.acc.mean - 0.9775) < 1e-9
    assert 0 <= c.val_drop < 0.1 and c.lr == 0.1 and c.steps == 300


def test_below_the_mark_or_still_falling_is_under_trained():
    table = runs([0.95, 0.96], [0.5, 0.6])
    c = check("s", table, pd.DataFrame(), {"model.norm": "batch"}, "conv", MARKS)
    assert not c.trained and "0.955 < mark 0.97" in c.why
    falling = curve("batch0", [2.0, 1.0, 0.6, 0.4, 0.2])
    c = check("s", runs([0.98, 0.98], [0.5]), falling, {"model.norm": "batch"}, "conv", MARKS)
    assert not c.trained and "still falling" in c.why
    assert val_drop(falling, ["batch0"]) > 0.4


def test_missing_control_and_missing_mark_fail():
    table = runs([0.98, 0.98], [0.5])
    assert (
        "no finished run"
        in check("s", table, pd.DataFrame(), {"model.norm": "x"}, "conv", MARKS).why
    )
    why = check("s", table, pd.DataFrame(), {"model.norm": "batch"}, "mlp", MARKS, "`cifar`").why
    assert why == "no mark set for `mlp` nets on `cifar` (data.marks)"


def test_each_control_may_name_its_kind():
    table = runs([0.98, 0.98], [0.91, 0.92]).assign(stopped="converged")  # plateaued
    arms = [{"model.norm": "batch"}, {"model.norm": "none", "mark": "deep_mlp"}]
    checks = check_study("s", table, pd.DataFrame(), arms, "conv", MARKS)
    assert [c.kind for c in checks] == ["conv", "deep_mlp"] and all(c.trained for c in checks)


def test_guard_replaces_the_verdict_with_the_number():
    table = runs([0.95, 0.96], [0.5, 0.6])
    failed = check("s", table, pd.DataFrame(), {"model.norm": "batch"}, "conv", MARKS)
    verdict = Verdict("B1", "supported", "Δ +0.1", "why")
    guarded = guard(verdict, [failed])
    assert guarded.verdict == "inconclusive" and "under-trained" in guarded.key_number
    assert "0.955 < mark 0.97" in guarded.key_number and "supported" in guarded.explanation
    converged = runs([0.98, 0.99], [0.5]).assign(stopped="converged")
    passed = check("s", converged, pd.DataFrame(), {"model.norm": "batch"}, "conv", MARKS)
    assert guard(verdict, [passed]) is verdict
    assert "under-trained" in section({"s": [failed]}).body


def test_time_per_study_ranks_the_costliest_first():
    from ablate.analysis.timing import render_time, time_per_study

    runs = pd.DataFrame(
        {
            "study": ["a", "a", "b"],
            "key": ["1", "2", "3"],
            "wall_time_s": [60.0, 60.0, 600.0],
            "stopped": [None, "stalled", None],
        }
    )
    table = time_per_study(runs)
    assert list(table["study"]) == ["b", "a"] and table["stopped_early"].tolist() == [0, 1]
    assert abs(table["share"].sum() - 1) < 1e-9 and "| b | 1 | 10.0 |" in render_time(table)


def test_a_small_absolute_fall_or_a_converged_run_has_plateaued():
    table = runs([0.98, 0.98], [0.5])
    small = curve("batch0", [0.5, 0.2, 0.1, 0.09, 0.085])  # 15% but 0.015 nats
    assert check("s", table, small, {"model.norm": "batch"}, "conv", MARKS).trained
    falling = curve("batch0", [2.0, 1.0, 0.6, 0.4, 0.2])
    done = table.assign(stopped="converged")
    assert check("s", done, falling, {"model.norm": "batch"}, "conv", MARKS).trained


def test_a_control_without_a_validation_curve_has_not_shown_a_plateau():
    c = check(
        "s", runs([0.98, 0.98], [0.5]), pd.DataFrame(), {"model.norm": "batch"}, "conv", MARKS
    )
    assert not c.trained and "no validation curve" in c.why


def test_a_control_is_judged_on_its_extra_seeds_too(tmp_path):
    from ablate.report.context import Context
    from ablate.report.controls import study_checks

    table = runs([0.98, 0.97, 0.96, 0.99], [0.5, 0.6])
    table = table.assign(
        study="lr_range", role=["grid", "grid", "control", "control"] + ["grid"] * 2
    )
    other = table.iloc[:1].assign(key="s0", seed=9, test_acc=0.1, role="lr_search")
    ctx = Context(pd.concat([table, other]), {"studies": ["lr_range"]}, tmp_path)
    (c,) = study_checks(ctx)["lr_range"]
    assert c.seeds == 4 and c.acc.n == 4 and abs(c.acc.mean - 0.975) < 1e-9
    assert "| 4 |" in section({"lr_range": [c]}).body


def test_a_control_is_judged_at_the_rate_its_extra_seeds_ran_at():
    # Seed 0 at two rates; 0.3 validates best on that seed, but the sweep kept 0.1 (e.g.
    # chosen by cross-validation or backed off a cliff) and ran the extra seeds there.
    table = runs([0.95, 0.96, 0.97], [0.5])
    table = table.assign(role=["grid", "control", "control", "grid"])
    faster = table.iloc[:1].assign(key="fast", lr=0.3, val_acc=0.99, test_acc=0.99)
    c = check(
        "cv", pd.concat([table, faster]), pd.DataFrame(), {"model.norm": "batch"}, "conv", MARKS
    )
    assert c.lr == 0.1 and c.seeds == 3 and abs(c.acc.mean - 0.96) < 1e-9
