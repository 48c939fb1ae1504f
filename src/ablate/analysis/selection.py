"""What choosing a hyperparameter on the test set costs (question T4), measured so that it
can come out nonzero: per fold, a choice made without that fold's numbers against the one
that fold's own test scores would make."""

from __future__ import annotations

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
