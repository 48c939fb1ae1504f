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


def test_peeking_gain_matches_brute_force_over_all_draws():
    import itertools

    import numpy as np

    from ablate.analysis.selection import _peeked_gaps

    test = np.array([0.90, 0.95, 0.93, 0.97, 0.91])
    val = np.array([0.91, 0.92, 0.94, 0.93, 0.90])
    gap = test - val
    for k in (1, 2, 3):
        draws = [max(c, key=lambda i: test[i]) for c in itertools.combinations(range(5), k)]
        brute = np.mean([gap[i] for i in draws]) - gap.mean()
        assert _peeked_gaps(test, val, [k])[0] == pytest.approx(brute)


def test_peeking_inflates_with_the_configurations_compared_only_when_test_is_noisy():
    import numpy as np

    from ablate.analysis.selection import optimism_by_count

    rng = np.random.default_rng(0)
    true = np.repeat([0.90, 0.95], 40)  # two kinds of net, each its own study
    noisy = pd.DataFrame(
        {
            "study": np.repeat(["a", "b"], 40),
            "val_acc": true + rng.normal(0, 0.005, 80),
            "test_acc": true + rng.normal(0, 0.005, 80) + 0.01,  # the split's own offset
        }
    )
    grown = optimism_by_count(noisy, [1, 2, 8, 32], min_groups=2, reps=200)
    means = [grown[k].mean for k in (1, 2, 8, 32)]
    assert means[0] == pytest.approx(0) and means == sorted(means)
    assert grown[32].lo > 0.004  # ~ the expected max of 32 normals x 0.005, less noise
    exact = noisy.assign(test_acc=noisy["val_acc"] + 0.01)  # test tells nothing new
    assert optimism_by_count(exact, [8], reps=50)[8].mean == pytest.approx(0)
    assert 64 not in optimism_by_count(noisy, [64], min_groups=1)  # no study has 64 runs
