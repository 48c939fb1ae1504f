from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ablate.analysis import counterfactual as cf
from ablate.analysis.curves import batch_noise, classify, total_fall
from ablate.analysis.rules.practice import t2_t3_counterfactual

STEPS = 100


def _noisy(start: float, end: float, sd: float, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(np.linspace(start, end, STEPS) + rng.normal(0, sd, STEPS))


def test_batch_noise_recovers_the_sd_around_a_trend():
    assert batch_noise(_noisy(2.3, 0.5, 0.1)) == pytest.approx(0.1, rel=0.25)


def test_a_noisy_flat_curve_is_stalled():
    assert classify(_noisy(2.3, 2.3, 0.2), "ok") == "stalled"


def test_a_curve_falling_30_percent_with_small_noise_is_healthy():
    losses = _noisy(2.3, 0.7 * 2.3, 0.02)
    assert total_fall(losses) > 0.25 * 2.3
    assert classify(losses, "ok") == "healthy"  # the old 10%-of-first rule also passed it...
    assert classify(_noisy(6.0, 2.3, 0.02), "ok") == "healthy"  # ...but not this one


def test_a_spiky_curve_that_fell_to_zero_is_not_stalled():
    losses = [3.0] * 6 + [0.01, 2.0] * 20 + [0.01] * 6
    assert classify(losses, "ok") == "healthy"


def test_a_run_that_ends_at_guessing_is_never_healthy():
    assert classify(_noisy(6.0, 2.3, 0.02), "ok", guessing=True) == "chance"
    assert classify([], "ok", guessing=True) == "chance"  # no curve: by accuracy alone
    assert classify([], "ok") == "healthy"
    assert classify(_noisy(2.3, 2.3, 0.2), "ok", guessing=True) == "stalled"


def test_guessing_is_one_class_or_the_majority_share_however_many_classes():
    runs = pd.DataFrame(
        {
            "test_acc": [0.105, 0.5, 0.97, np.nan],
            "majority_acc": [0.118, 0.118, 0.118, np.nan],
            "test_classes_predicted": [10, 1, 10, np.nan],
        }
    )
    assert cf.guessing(runs).tolist() == [True, True, False, False]


def test_growing_or_nan_losses_diverge():
    assert classify(_noisy(2.3, 8.0, 0.1), "ok") == "diverged"
    assert classify([2.3, float("nan")], "ok") == "diverged"


def _sweep(curves: dict[float, list[float]], collapsed: frozenset[float] = frozenset()):
    """One group of runs differing only in lr, plus a lone run at one rate."""
    runs = pd.DataFrame(
        [
            {"study": "s", "key": f"k{lr}", "seed": 0, "norm": "none", "lr": lr, "status": "ok"}
            for lr in curves
        ]
        + [{"study": "s", "key": "lone", "seed": 1, "norm": "none", "lr": 1.0, "status": "ok"}]
    )
    runs["test_classes_predicted"] = [1 if lr in collapsed else 10 for lr in runs["lr"]]
    history = pd.DataFrame(
        [
            {"key": f"k{lr}", "step": i, "train_loss": loss}
            for lr, losses in curves.items()
            for i, loss in enumerate(losses)
        ]
        + [{"key": "lone", "step": i, "train_loss": x} for i, x in enumerate(_noisy(2.3, 2.3, 0.2))]
    )
    cured = cf.cures(cf.label_runs(runs, history))
    kind = "stalled"
    counts = cured[cured["curve"] == kind]["cure"].value_counts().to_dict()
    return cured, t2_t3_counterfactual("T2", kind, counts)


FLAT, FALLS = _noisy(2.3, 2.3, 0.2), _noisy(2.3, 0.3, 0.05)


def test_stalled_runs_cured_by_a_higher_rate_support_t2():
    cured, verdict = _sweep({1e-5: FLAT, 1e-4: _noisy(2.3, 2.3, 0.1, 1), 1e-2: FALLS})
    assert cured.set_index("key")["cure"].to_dict() == {
        "k1e-05": "raising",
        "k0.0001": "raising",
        "k0.01": "",
        "lone": "untested",  # its group has no other rate
    }
    assert verdict.verdict == "supported"


def test_stalled_runs_cured_only_by_a_lower_rate_refute_t2():
    _, verdict = _sweep({1e-3: FALLS, 1.0: FLAT, 3.0: _noisy(2.3, 2.3, 0.1, 1)})
    assert verdict.verdict == "refuted"


def test_cure_counts_per_study_and_curves_judged_without_history():
    runs = pd.DataFrame(
        {
            "study": "s",
            "key": ["a", "b"],
            "seed": 0,
            "lr": [0.1, 10.0],
            "status": ["ok", "diverged"],
            "test_classes_predicted": [10, np.nan],
        }
    )
    counts = cf.cure_counts(cf.cures(cf.label_runs(runs, pd.DataFrame())), "diverged")
    assert counts.loc["s", "lowering"] == 1 and counts.loc["s", "no curve"] == 1
    assert list(counts.columns) == [*cf.CURES, "no curve"]


def test_a_divergence_is_cured_by_a_lower_rate_that_does_not_diverge_even_if_it_stalls():
    nan = [2.3 * 2**i for i in range(20)]  # growing: diverged
    cured, _ = _sweep({0.01: FLAT, 1.0: nan, 3.0: nan})
    cure = cured.set_index("key")["cure"].to_dict()
    # No rate of this net trains (0.01 stalls), yet lowering stops the divergence: what T3
    # blames on the rate. The stalled run is still cured by no rate (T2's counterexample).
    assert cure["k1.0"] == cure["k3.0"] == "lowering" and cure["k0.01"] == "none"
    everywhere, _ = _sweep({0.01: nan, 1.0: nan})
    assert set(everywhere.set_index("key")["cure"][["k0.01", "k1.0"]]) == {"none"}


def test_a_loss_that_blew_up_and_fell_back_is_diverged():
    spike = [2.3] * 10 + [2.7e16, 1e5, 40.0] + [2.3] * 20  # back on the plateau at the end
    assert classify(spike, "ok", guessing=True) == "diverged"
    bumpy = [2.3] * 10 + [9.0] + list(np.linspace(2.0, 0.2, 20))  # under 10x: still healthy
    assert classify(bumpy, "ok") == "healthy"


def test_a_blow_up_inside_the_first_window_is_diverged():
    early = [2.3, 2.3, 2.7e16, 1e9] + [2.3] * 30  # the first window's mean is the blow-up
    assert classify(early, "ok", guessing=True) == "diverged"


def test_a_fast_fall_then_noise_is_not_a_blow_up():
    # A spike 50x the early low but 2x the start: the start is the reference.
    fast = [2.3, 0.3, 0.1, *np.linspace(0.1, 0.06, 15), 5.0, *np.linspace(0.06, 0.05, 15)]
    assert classify(fast, "ok") == "healthy"
