"""Rules of the practice section: T1 overfitting a tiny subset, T2/T3 what changing only the
rate cures, T4 cross-validated choice."""

from __future__ import annotations

from scipy.stats import mannwhitneyu

from ablate.analysis.rules.common import Verdict, from_parts
from ablate.analysis.stats import Estimate

MIN_TESTED = 2  # fewer runs with a counterfactual rate than this decide nothing


def t1_overfit(
    reached: dict[str, list[float]], control: dict[str, list[float]], threshold: float
) -> Verdict:
    """Claim: with regularisation off, a correct net drives the loss on a tiny subset to
    about 0, so the check tells a working setup from a broken one. `reached`: per family,
    each run's lowest training loss; `control`: the same for the negative control (labels
    scrambled anew at every step, which no net can fit). Every run of every family below
    `threshold` and no control run: supported (the separation's exact rank-test p in the
    key); no family: refuted; some: nuanced; a control run below it too, or no control:
    inconclusive, since a check that cannot fail tells nothing."""
    ran = [v for runs in reached.values() for v in runs]
    bugs = [v for runs in control.values() for v in runs]
    fits = {k: sum(v < threshold for v in runs) for k, runs in reached.items()}
    fooled = sum(v < threshold for v in bugs)
    numbers = {f"fit_{k}": float(v) for k, v in fits.items()}
    numbers["control_fit"] = float(fooled)
    p = float("nan")
    if ran and bugs:
        p = float(mannwhitneyu(ran, bugs, alternative="less", method="exact").pvalue)
    numbers["separation_p"] = p
    key = "; ".join(f"{k} {fits[k]}/{len(runs)}" for k, runs in reached.items())
    key = f"runs reaching loss < {threshold:g}: {key}; scrambled-label control {fooled}/{len(bugs)}"
    if bugs:
        key += (
            f" (its lowest loss {min(bugs):.3g}); lowest losses, fitting runs below control "
            f"runs: exact rank test p = {p:.2g} ({len(ran)} vs {len(bugs)} runs)"
        )
    all_fit = [k for k, runs in reached.items() if fits[k] == len(runs) and runs]
    none_fit = [k for k in reached if fits[k] == 0]
    if not ran:
        verdict, why = "inconclusive", "no run of the check ran"
    elif len(none_fit) == len(reached):
        verdict, why = "refuted", f"no family drives the loss below {threshold:g}"
    elif len(all_fit) < len(reached):
        missed = ", ".join(k for k in reached if k not in all_fit)
        verdict, why = "nuanced", f"some runs of {missed} never reach {threshold:g}"
    elif not bugs:
        verdict, why = "inconclusive", "no negative control ran: a check that cannot fail"
    elif fooled:
        verdict, why = (
            "inconclusive",
            f"{fooled} scrambled-label runs pass it too: the check cannot tell a broken setup",
        )
    else:
        verdict, why = (
            "supported",
            "every run of every family fits the subset and no scrambled-label run does, so "
            "the check tells a working setup from a broken one",
        )
    return Verdict("T1", verdict, key, f"Overfitting a tiny subset: {why}.", numbers)


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
    growth: dict[int, Estimate],
    acc_margin: float,
) -> Verdict:
    """Claim: choose hyperparameters on a validation split (k-fold cross-validation), not
    on the test set. Its reason, measured: `growth`, per number k of configurations
    compared, how far the test accuracy of the test-best lies above its held-out
    counterpart (`selection.optimism_by_count`), decided at the largest k; whether CV
    finds a value as good as peeking (`regret`: per fold, the test accuracy of the value
    the test set picks minus that of the value CV on the other folds picks,
    `selection.selection_regret`); and whether the choice is inside the grid. `optimism`:
    the per-fold winner's curse within cv_select; `gap`: CV estimate minus test accuracy
    at the CV choice."""
    numbers = {
        "cv_choice": cv_choice,
        "test_choice": test_choice,
        "regret": regret.mean,
        "optimism": optimism.mean,
        "gap": gap,
        **{f"optimism_k{k}": est.mean for k, est in growth.items()},
    }
    top = max(growth) if growth else None
    inflates = None if top is None else {"higher": True, "lower": False}.get(growth[top].compare())
    key = (
        f"picking the test-best of {top} configurations reports "
        f"{growth[top].fmt(signed=True)} above its held-out counterpart (deciding); "
        if top is not None
        else "optimism by number of configurations: not measured; "
    )
    key += (
        f"CV picks lr {cv_choice:g}, the test set {test_choice:g}; regret per fold "
        f"{regret.fmt(signed=True)} (as good as peeking when its CI ends below "
        f"{acc_margin:.4f}); CV − test {gap:+.3f}"
    )
    # Regret is >= 0 by construction: "as good as peeking" needs its CI under the margin.
    small = regret.n > 1 and regret.hi <= acc_margin
    # The same value as the pooled test-set choice is as good as peeking, whatever the
    # per-fold regret (whose per-fold maximum over noisy test scores is biased upward).
    same = cv_choice == test_choice
    matches = (
        True
        if same or regret.mean == 0 or small
        else None
        if regret.compare() == "overlap"
        else False
    )
    parts = {
        "picking on the test set inflates the reported accuracy": inflates,
        "CV finds a value as good as peeking at the test set": matches,
        "the choice is inside the grid": not on_edge,
    }
    return from_parts("T4", parts, key, numbers, "Cross-validated choice of the learning rate")
