"""What choosing a hyperparameter on the test set costs (question T4), measured so that it
can come out nonzero: per fold, a choice made without that fold's numbers against the one
that fold's own test scores would make."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from ablate.analysis.stats import Estimate, mean_ci


def selection_regret(df: pd.DataFrame, choice: str = "lr") -> tuple[Estimate, Estimate]:
    """(regret, optimism), each a mean over folds with its t-interval.

    Each fold's models are scored on the shared test set; fold f's best test accuracy is
    what peeking reports. regret_f: how far it lies above the value cross-validation on the
    *other* folds' validation accuracy picks, scored on fold f (what peeking gains over
    CV). optimism_f: how far it lies above the value the other folds' *test* accuracy
    picks, scored on fold f: selection and report on separate replicates, so this is the
    winner's curse of reporting the number one selected on. Both are >= 0, and 0 only
    when every fold agrees. The test set is shared, so its own sampling noise is not in
    them, and folds share training data: the intervals are rough ones."""
    val = df.pivot_table(index="fold", columns=choice, values="val_acc", aggfunc="mean")
    test = df.pivot_table(index="fold", columns=choice, values="test_acc", aggfunc="mean")
    regret, optimism = [], []
    for fold in test.index:
        others = test.index != fold
        reported = test.loc[fold].max()
        regret.append(reported - test.loc[fold, val[others].mean().idxmax()])
        optimism.append(reported - test.loc[fold, test[others].mean().idxmax()])
    return mean_ci(regret), mean_ci(optimism)


@functools.cache
def _max_weights(n: int, k: int) -> np.ndarray:
    """P(the run ranked r-th of n by test accuracy is the best of k drawn without
    replacement), r = 1..n: C(n - r, k - 1) / C(n, k)."""
    return np.array([math.comb(n - r, k - 1) for r in range(1, n + 1)]) / math.comb(n, k)


def _peeked_gaps(test: np.ndarray, val: np.ndarray, counts: list[int]) -> np.ndarray:
    """Per count k (NaN where k exceeds the runs): the expected test − validation gap of
    the test-best of k random runs, minus that of one random run (the two splits' own
    offset for these runs). Runs tied on test accuracy share their mean gap (a random
    tie-break)."""
    order = np.argsort(-test, kind="stable")
    sorted_test, gap = test[order], (test - val)[order]
    _, groups = np.unique(sorted_test, return_inverse=True)
    gap = (np.bincount(groups, gap) / np.bincount(groups))[groups]
    n = len(gap)
    return np.array([_max_weights(n, k) @ gap - gap.mean() if k <= n else np.nan for k in counts])


def optimism_by_count(
    runs: pd.DataFrame,
    counts: list[int],
    by: str = "study",
    min_groups: int = 1,
    reps: int = 1000,
    seed: int = 0,
) -> dict[int, Estimate]:
    """How much picking the best of k configurations on the test set inflates the number
    reported, per k in `counts`. Within each group of `by` (a study: configurations one
    would choose among), the expected test − validation gap of the test-best of k runs
    drawn at random, minus that of one random run (so each group's own split offset and
    the kind of net it trains cancel); averaged over the groups with at least k runs, for
    the k that at least `min_groups` groups reach. The
    validation accuracy is the chosen run's held-out counterpart, untouched by the choice.
    Exact over all draws; the 95% interval bootstraps runs within groups (`reps`
    resamples, fixed `seed`: the same report every time)."""
    finite = runs[np.isfinite(runs["test_acc"]) & np.isfinite(runs["val_acc"])]
    if min_groups < 1:
        raise ValueError(f"min_groups must be >= 1, got {min_groups}")
    groups = [
        (g["test_acc"].to_numpy(float), g["val_acc"].to_numpy(float))
        for _, g in finite.groupby(by, sort=True)
        if len(g) >= 2
    ]
    counts = [k for k in counts if k >= 1 and sum(len(t) >= k for t, _ in groups) >= min_groups]
    if not counts:
        return {}

    def pooled(samples: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        return np.nanmean([_peeked_gaps(t, v, counts) for t, v in samples], axis=0)

    point = pooled(groups)
    rng = np.random.default_rng(seed)
    boot = np.array(
        [
            pooled([(t[i], v[i]) for t, v in groups for i in [rng.integers(0, len(t), len(t))]])
            for _ in range(reps)
        ]
    )
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
    sizes = [len(t) for t, _ in groups]
    return {
        k: Estimate(
            float(point[j]),
            float(lo[j]),
            float(hi[j]),
            sum(n for n in sizes if n >= k),
            unit=f"runs in {sum(n >= k for n in sizes)} {by} groups (bootstrap)",
        )
        for j, k in enumerate(counts)
    }
