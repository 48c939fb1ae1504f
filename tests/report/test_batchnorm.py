"""B1 on synthetic run tables: per family and init, the share of the rate sweep that trains
and the accuracy given it trains, each BN position at its own best-validated rate."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.rules import batchnorm as rules
from ablate.report.batchnorm import position_strata

RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def runs(post_trains_from: float, post_acc: float) -> pd.DataFrame:
    """BN before trains only at rates >= 0.3 (accuracy 0.90); after trains from
    `post_trains_from` on, to `post_acc`; without BN, nothing trains."""
    rows = []
    for lr in RATES:
        for seed in (0, 1):
            for position, start, acc in (("pre", 0.3, 0.90), ("post", post_trains_from, post_acc)):
                ok = lr >= start
                rows.append(
                    {
                        "norm": "batch",
                        "norm_position": position,
                        "init": "kaiming",
                        "lr": lr,
                        "seed": seed,
                        "status": "ok",
                        # the best rate is the lowest that trains: accuracy falls with lr
                        "test_acc": acc - 0.01 * RATES.index(lr) - 0.001 * seed if ok else 0.1,
                        "val_acc": acc - 0.01 * RATES.index(lr) if ok else 0.1,
                    }
                )
            rows.append({**rows[-1], "norm": "none", "norm_position": "pre", "test_acc": 0.1})
    return pd.DataFrame(rows)


class FakeContext:
    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = tables

    def study(self, name: str, status: str | None = "ok") -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame(columns=["norm", "norm_position"]))

    def chance(self, study: str) -> float:
        return 0.1


def test_after_training_at_more_rates_in_both_families_refutes():
    ctx = FakeContext({"bn": runs(0.01, 0.95), "bn_mlp": runs(0.01, 0.95)})
    strata, rows, bars = position_strata(ctx)
    assert set(strata) == {("conv", "kaiming"), ("mlp/relu", "kaiming")}
    success, acc = strata[("conv", "kaiming")]
    assert success.mean < 0 and acc.mean < 0  # before − after: after trains more, better
    assert [r[3] for r in rows[:2]] == ["12/12", "6/12"]  # post, pre: runs that train
    assert len(bars) == 2
    assert rules.b1_position(strata).verdict == "refuted"


def test_one_family_only_is_never_refuted():
    strata, _, _ = position_strata(FakeContext({"bn_mlp": runs(0.01, 0.95)}))
    assert rules.b1_position(strata).verdict == "inconclusive"


def test_families_that_disagree_are_nuanced():
    ctx = FakeContext({"bn": runs(0.01, 0.95), "bn_mlp": runs(3.0, 0.80)})
    strata, _, _ = position_strata(ctx)
    assert rules.b1_position(strata).verdict == "nuanced"
