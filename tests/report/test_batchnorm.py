"""B1 and B2 on synthetic run tables: strata first, (rate, seed) pairs as units."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from ablate.analysis.paired import paired_units
from ablate.analysis.rules import batchnorm as rules
from ablate.report.batchnorm import position_strata
from ablate.report.bn_noise import noise_experiment

RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
SEEDS = (0, 1, 2, 3)


def runs(post_trains_below: float, post_gain: float) -> pd.DataFrame:
    """BN before trains at every rate (accuracy 0.90); after trains below
    `post_trains_below` (diverging above), `post_gain` more accurate; without BN nothing
    trains."""
    rows = []
    for lr, seed in itertools.product(RATES, SEEDS):
        noise = 0.001 * seed - 0.002 * RATES.index(lr)
        for position in ("pre", "post"):
            ok = position == "pre" or lr < post_trains_below
            acc = 0.90 + (post_gain if position == "post" else 0) + noise
            rows.append(
                {
                    "norm": "batch",
                    "norm_position": position,
                    "init": "kaiming",
                    "lr": lr,
                    "seed": seed,
                    "status": "ok" if ok else "diverged",
                    "test_acc": acc if ok else None,
                    "val_acc": acc if ok else None,
                    "majority_acc": 0.11,
                }
            )
        rows.append({**rows[-1], "norm": "none", "status": "ok", "test_acc": 0.1, "val_acc": 0.1})
    return pd.DataFrame(rows)


class FakeContext:
    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = tables
        self.history = pd.DataFrame()  # no loss curves

    def study(self, name: str, status: str | None = "ok") -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame(columns=["norm", "norm_position"]))

    def chance(self, study: str) -> float:
        return 0.1

    def describe(self, study: str) -> str:
        return f"Study `{study}`."


def test_strata_pair_rate_and_seed_and_count_what_trains():
    ctx = FakeContext({"bn": runs(9.0, 0.0), "bn_sigmoid": runs(1.0, 0.02)})
    strata, counts, best = position_strata(ctx)
    relu, sigmoid = strata[("conv/relu", "kaiming")], strata[("mlp/sigmoid", "kaiming")]
    assert relu.trains.n == 24 and relu.trains.mean == 0 and relu.side() == "equal"
    # After diverges at 1 and 3: 8 of 24 pairs train only before; where both train (16
    # pairs), after is 0.02 more accurate in every one.
    assert sigmoid.trains.mean == 8 / 24 and sigmoid.trains.compare() == "higher"
    assert sigmoid.acc.n == 16 and sigmoid.acc.compare() == "lower"
    assert sigmoid.side() == "mixed"
    assert "| batch/post | 4/4 | 4/4 | 4/4 | 4/4 | 0/4 (4 div.) | 0/4 (4 div.) |" in counts[1]
    assert len(best) == 4  # two strata x two positions at their own best rate
    verdict = rules.b1_position(strata)
    assert verdict.verdict == "nuanced" and "no difference in conv/relu/kaiming" in (
        verdict.explanation
    )


def test_one_family_only_is_never_decided():
    strata, _, _ = position_strata(FakeContext({"bn_mlp": runs(9.0, 0.0)}))
    assert rules.b1_position(strata).verdict == "inconclusive"


def noise_runs(noisy_trains_to: float, drift: float, noisy_acc: float = 0.94) -> pd.DataFrame:
    """No BN trains up to lr 0.1 (0.93), BN everywhere (0.95); noisy BN (amplitude 0.3)
    up to `noisy_trains_to` (to `noisy_acc`), its noise shifting the distribution `drift` per step
    against no BN's 0.05 from training."""
    rows = []
    for lr, seed in itertools.product((0.01, 0.03, 0.1, 0.3, 1.0), SEEDS):
        for norm, top, acc in (
            ("none", 0.1, 0.93),
            ("batch", 9.0, 0.95),
            ("noisy_batch", noisy_trains_to, noisy_acc),
        ):
            ok = lr <= top
            rows.append(
                {
                    "norm": norm,
                    "norm_noise": 0.3 if norm == "noisy_batch" else float("nan"),
                    "lr": lr,
                    "seed": seed,
                    "status": "ok" if ok else "diverged",
                    "test_acc": acc + 0.001 * seed if ok else None,
                    "val_acc": acc if ok else None,
                    "majority_acc": 0.11,
                    "probe_drift_step_mean": 0.05 if norm == "none" else 0.001,
                    "probe_drift_noise_mean": drift if norm == "noisy_batch" else 0.0,
                    "probe_act_in_skew": 0.3 + 0.01 * seed,  # BN changes no shape
                    "probe_act_in_kurt": 0.5 + 0.01 * seed,
                }
            )
    return pd.DataFrame(rows)


def test_noisy_bn_that_keeps_the_advantage_while_shifting_more_refutes_normality():
    bn_adv, levels, bound, text, _ = noise_experiment(FakeContext({"bn_noise": noise_runs(9, 0.3)}))
    level = levels[0.3]
    assert bn_adv.n == 20 and bn_adv.compare() == "higher"
    assert level.vs_none.compare() == "higher" and level.drift.mean > 0  # 0.3 vs 0.05
    assert "noisy 0.3" in text
    assert "|skewness| +0.00 [+0.00, +0.00]" in text  # 12 pairs where both finished
    # Where no BN trains (lr 0.01-0.1, 4 seeds each), BN is 0.02 ahead and noisy BN 0.01.
    assert "Over only the 12 (rate, seed) pairs where the net without BN trains" in text
    assert "BN +0.020 [+0.020, +0.020]" in text and "noise 0.3 +0.010" in text
    verdict = rules.b2_why_bn(0.3, 0.1, bn_adv, {}, bn_adv, levels, bound)
    assert verdict.verdict == "refuted"
    # A second, stronger level that does not keep the advantage is named, not dropped.
    weak = rules.NoiseLevel(
        paired_units([0.1, -0.1, 0.05, -0.02, 0.0, 0.01], "x"), *[level.vs_bn, level.drift]
    )
    verdict = rules.b2_why_bn(0.3, 0.1, bn_adv, {}, bn_adv, {**levels, 1.0: weak}, bound)
    assert "(at amplitude 1 the advantage is not shown (" in verdict.explanation


def test_noisy_bn_that_loses_the_advantage_supports_it_and_a_tame_noise_decides_nothing():
    lost = noise_runs(0.1, 0.3, noisy_acc=0.93)  # no better than no BN at any rate
    bn_adv, levels, bound, _, _ = noise_experiment(FakeContext({"bn_noise": lost}))
    assert rules.b2_why_bn(1, 0.1, bn_adv, {}, bn_adv, levels, bound).verdict == "supported"
    bn_adv, levels, bound, _, _ = noise_experiment(FakeContext({"bn_noise": noise_runs(9, 0.01)}))
    assert levels[0.3].drift.compare() == "lower"
    assert rules.b2_why_bn(1, 0.1, bn_adv, {}, bn_adv, levels, bound).verdict == "inconclusive"


def test_a_fixed_log_normal_bn_is_measured_against_no_bn_and_bn():
    runs = noise_runs(9, 0.3)
    bent = runs[runs["norm"] == "batch"].assign(
        norm="skewed_batch", probe_act_in_kurt=lambda d: d["probe_act_in_kurt"] + 5
    )
    bn_adv, levels, bound, text, skewed = noise_experiment(
        FakeContext({"bn_noise": pd.concat([runs, bent], ignore_index=True)})
    )
    assert skewed is not None and skewed.vs_none.compare() == "higher"
    assert skewed.kurtosis.mean == pytest.approx(5) and "Normal apart from fixed" in text
    verdict = rules.b2_why_bn(0.3, 0.1, bn_adv, {}, bn_adv, levels, bound, skewed)
    assert verdict.verdict == "refuted" and "log-normal shape" in verdict.explanation
    assert noise_experiment(FakeContext({"bn_noise": runs}))[4] is None  # not run: no arm
