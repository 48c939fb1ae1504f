from __future__ import annotations

import pandas as pd
import pytest

from ablate.analysis.selection import selection_regret


def _runs(test: dict[tuple[int, float], float], val: dict[tuple[int, float], float]):
    return pd.DataFrame(
        [
            {"fold": f, "lr": lr, "val_acc": val[(f, lr)], "test_acc": acc}
            for (f, lr), acc in test.items()
        ]
    )


def test_regret_and_optimism_are_nonzero_when_test_picks_differ():
    # Validation always prefers lr 0.01; on test, fold 0's lr-0.1 model is a lucky one.
    test = {(0, 0.01): 0.80, (0, 0.1): 0.86, (1, 0.01): 0.82, (1, 0.1): 0.78}
    test |= {(2, 0.01): 0.81, (2, 0.1): 0.79}
    val = {(f, lr): 0.85 if lr == 0.01 else 0.80 for f, lr in test}
    regret, optimism = selection_regret(_runs(test, val))
    # Fold 0: peeking picks 0.1 (+0.06 over CV's 0.01); folds 1, 2: both pick 0.01.
    assert regret.n == 3 and regret.mean == pytest.approx(0.02)
    # Picked on the other folds' test scores: fold 0 gets 0.01 (0.815 vs 0.785), 0.86 - 0.80;
    # fold 1 gets 0.1 (0.825 vs 0.805), 0.82 - 0.78; fold 2 gets 0.1 (0.82 vs 0.81), 0.81 - 0.79.
    assert optimism.mean == pytest.approx((0.06 + 0.04 + 0.02) / 3)


def test_no_regret_when_validation_and_test_agree():
    test = {
        (f, lr): 0.8 + f / 100 + (0.05 if lr == 0.01 else 0) for f in range(3) for lr in (0.01, 0.1)
    }
    val = dict(test)
    regret, optimism = selection_regret(_runs(test, val))
    assert regret.mean == 0 and optimism.mean == 0
