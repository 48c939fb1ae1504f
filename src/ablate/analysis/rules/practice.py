"""Rules of the practice section: T1 overfitting a tiny subset, T2/T3 what changing only the
rate cures, T4 cross-validated choice."""

from __future__ import annotations

from ablate.analysis.rules.common import EQUIVALENCE, Verdict, from_parts
from ablate.analysis.stats import Estimate

MIN_TESTED = 2  # fewer runs with a counterfactual rate than this decide nothing


def t1_overfit(steps: dict[str, int | None], threshold: float) -> Verdict:
    """Claim: with regularisation off, a correct net drives the loss on a tiny subset to
    about 0. `steps`: per family, the first step with loss below `threshold` (None: never)."""
    numbers = {f"steps_{k}": float(v) if v is not None else float("nan") for k, v in steps.items()}
    key = "; ".join(f"{k} {v if v is not None else 'never'}" for k, v in steps.items())
    parts = {f"{k} reaches loss < {threshold:g}": v is not None for k, v in steps.items()}
    return from_parts("T1", parts, key, numbers, "Overfitting a tiny subset")


def t2_t3_counterfactual(qid: str, kind: str, counts: dict[str, int]) -> Verdict:
    """Claims: T2, a loss that barely changes (`stalled`) means the rate is too small, so
    raising it, all else fixed, cures the curve; T3, a NaN or growing loss (`diverged`)
    means it is too large, so lowering it cures the curve. `counts`: how the runs of class
    `kind` were cured (`counterfactual.CURES`), pooled over studies. Counterexamples are
    runs cured only the other way and runs no rate tried cures (e.g. diverged from init).
    Cured as claimed and no counterexample: supported; only counterexamples: refuted; both:
    nuanced; fewer than 2 runs with another rate tried: inconclusive."""
    claimed = "raising" if kind == "stalled" else "lowering"
    other = "lowering" if kind == "stalled" else "raising"
    hits, against, nothing = counts.get(claimed, 0), counts.get(other, 0), counts.get("none", 0)
    tested = hits + against + nothing + counts.get("either", 0)
    key = (
        f"runs whose curve is {kind}, cured by {claimed} the rate: {hits}; only by {other}: "
        f"{against}; by no rate tried: {nothing}; either way: {counts.get('either', 0)}; untested: "
        f"{counts.get('untested', 0)}"
    )
    numbers = {f"{kind}_{k}": float(v) for k, v in counts.items()}
    if tested < MIN_TESTED:
        verdict, why = "inconclusive", f"only {tested} {kind} runs had another rate tried"
    elif hits and not (against or nothing):
        verdict, why = "supported", f"every {kind} run that a rate cures is cured by {claimed} it"
    elif not hits and (against or nothing):
        verdict, why = "refuted", f"no {kind} run is cured by {claimed} the rate"
    elif hits:
        verdict, why = (
            "nuanced",
            f"{claimed} the rate cures {hits} {kind} runs, but {against} are cured only by "
            f"{other} it and {nothing} by no rate tried",
        )
    else:
        verdict, why = "inconclusive", f"every tested {kind} run is cured by a rate either way"
    return Verdict(qid, verdict, key, f"Changing only the rate ({why}).", numbers)


def t4_cv(
    cv_choice: float,
    test_choice: float,
    on_edge: bool,
    regret: Estimate,
    optimism: Estimate,
    gap: float,
) -> Verdict:
    """Claim: choose hyperparameters on a validation split (k-fold cross-validation), not
    on the test set. `regret`: per fold, the test accuracy of the value the test set picks
    minus that of the value CV on the other folds picks (`selection.selection_regret`);
    `optimism`: how far a fold's best test accuracy lies above that of the value the other
    folds' test scores pick (the winner's curse of reporting what one selected on);
    `gap`: CV estimate minus test accuracy at the CV choice."""
    numbers = {
        "cv_choice": cv_choice,
        "test_choice": test_choice,
        "regret": regret.mean,
        "optimism": optimism.mean,
        "gap": gap,
    }
    key = (
        f"CV picks lr {cv_choice:g}, the test set {test_choice:g}; regret per fold "
        f"{regret.fmt(signed=True)}; optimism of the test-picked accuracy "
        f"{optimism.fmt(signed=True)}; CV − test {gap:+.3f}"
    )
    # Regret is >= 0 by construction: "as good as peeking" needs its CI within EQUIVALENCE.
    within = regret.n > 1 and regret.hi <= EQUIVALENCE
    # The same value as the pooled test-set choice is as good as peeking, whatever the
    # per-fold regret (whose per-fold maximum over noisy test scores is biased upward).
    same = cv_choice == test_choice
    matches = (
        True
        if same or regret.mean == 0 or within
        else None
        if regret.compare() == "overlap"
        else False
    )
    parts = {
        "CV finds a value as good as peeking at the test set": matches,
        "the choice is inside the grid": not on_edge,
    }
    return from_parts("T4", parts, key, numbers, "Cross-validated choice of the learning rate")
