"""Rules of the init section: W1 small Gaussian init, W2 Xavier, W3 Kaiming.

Trainability is an outcome counted per cell (`Count`); the scale of a signal through depth
is judged on the better-fitting of two per-layer models (`depth_trend.SignalFit`), over the
whole net, against a factor of 2 either way."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from scipy.stats import binomtest

from ablate.analysis.depth_trend import SignalFit
from ablate.analysis.rules.common import Verdict, _above, _dir, _not, from_parts, with_needs
from ablate.analysis.stats import Estimate

MIN_UNITS = 6  # the least n at which an exact sign-flip test can reach p < 0.05 (2 / 2^n)
STABLE = math.log10(2)  # a signal is stable while first -> last layer stays within 2x


@dataclass(frozen=True)
class Count:
    """How many of a cell's runs trained (finished, and beat the majority class by 0.1)."""

    trained: int
    runs: int

    def fmt(self) -> str:
        return f"{self.trained}/{self.runs}"

    def label(self, claim: str) -> str:
        """The sub-claim's name, with its run count where that is too few to decide."""
        return claim if self.runs >= MIN_UNITS else f"{claim} ({self.runs} runs)"

    def most(self) -> bool | None:
        """True when most runs train (the exact 95% CI of the share lies above 1/2), False
        when most do not (it lies below), None when it spans 1/2 or the cell has fewer than
        MIN_UNITS runs: 3 of 3 is a count, not a finding."""
        if self.runs < MIN_UNITS:
            return None
        ci = binomtest(self.trained, self.runs).proportion_ci(method="exact")
        return True if ci.low > 0.5 else False if ci.high < 0.5 else None


def _change(fit: SignalFit | None, test: Callable[[Estimate], bool | None]) -> bool | None:
    """A sub-claim on a fitted signal's first -> last change; None with too few runs."""
    if fit is None or fit.change.n < MIN_UNITS:
        return None
    return test(fit.change)


def _within(est: Estimate, band: float) -> bool | None:
    """True if the CI lies inside [-band, band], False if wholly outside it, else unclear."""
    if not (math.isfinite(est.lo) and math.isfinite(est.hi)):
        return None
    if -band <= est.lo and est.hi <= band:
        return True
    return False if est.hi < -band or est.lo > band else None


def _fit_text(name: str, fit: SignalFit | None) -> str:
    if fit is None:
        return f"{name} —"
    return (
        f"{name} {fit.param_text()} ({fit.model} fits better in {fit.wins}/{fit.runs} runs), "
        f"{fit.change_text()}"
    )


def _few(counts: dict[str, Count]) -> str:
    few = sorted({c.runs for c in counts.values() if c.runs < MIN_UNITS})
    if not few:
        return ""
    return (
        f" Trainability counts rest on {', '.join(map(str, few))} seeds per cell, fewer than the "
        f"{MIN_UNITS} an exact test needs: shown, not decided."
    )


def w1_small_init(
    shallow: dict[str, Count],
    deep: dict[str, Count],
    activations: SignalFit | None,
    gradients: SignalFit | None,
) -> Verdict:
    """Claim: std-0.01 init works in small nets. Guess for deep nets: activations and
    gradients shrink towards 0 with depth (so training stalls). `shallow`, `deep`: per
    activation, the small-init runs that trained at the shallowest and deepest depth of the
    sweep; `activations`, `gradients`: the activation spread and back-propagated gradient
    ‖∂L/∂h‖ of small-init ReLU nets through depth at init, fitted per run (input -> output)."""
    parts = _per_stratum_or_pooled(shallow, "trains in small {} nets", lambda c: c.most())
    parts |= _per_stratum_or_pooled(deep, "stalls in deep {} nets", lambda c: _not(c.most()))
    parts["activations shrink with depth"] = _change(
        activations, lambda e: _not(_above(e, -STABLE))
    )
    parts["gradients shrink toward the input"] = _change(gradients, lambda e: _above(e, STABLE))
    numbers = {f"shallow_trained_{a}": c.trained / c.runs for a, c in shallow.items()}
    numbers |= {f"deep_trained_{a}": c.trained / c.runs for a, c in deep.items()}
    if activations is not None:
        numbers["act_change_log10"] = activations.change.mean
    key = (
        "small init trained: shallow "
        + ", ".join(f"{a} {c.fmt()}" for a, c in sorted(shallow.items()))
        + "; deep "
        + ", ".join(f"{a} {c.fmt()}" for a, c in sorted(deep.items()))
        + "; "
        + _fit_text("relu activation std", activations)
    )
    verdict = from_parts("W1", parts, key, numbers, "Small Gaussian init (std 0.01)")
    verdict.explanation += _few({**_units(shallow), **_units(deep)})
    return verdict


def _agree(counts: dict[str, Count]) -> bool:
    """Every stratum on the same side of half its runs trained: none contradicts another."""
    values = list(counts.values())
    return bool(values) and (
        all(2 * c.trained > c.runs for c in values) or all(2 * c.trained < c.runs for c in values)
    )


def _pooled(counts: dict[str, Count]) -> Count:
    return Count(sum(c.trained for c in counts.values()), sum(c.runs for c in counts.values()))


def _units(counts: dict[str, Count]) -> dict[str, Count]:
    """The counts a sub-claim is decided on: the pooled one where the strata agree."""
    return {"+".join(sorted(counts)): _pooled(counts)} if _agree(counts) else counts


def _per_stratum_or_pooled(
    counts: dict[str, Count], claim: str, test: Callable[[Count], bool | None]
) -> dict[str, bool | None]:
    """One sub-claim over the strata's runs pooled when they agree (each run is one draw of
    the init, so the runs are the units), else one per stratum, so a stratum that
    disagrees is named rather than averaged away."""
    if _agree(counts) and len(counts) > 1:
        pooled = _pooled(counts)
        names = ", ".join(sorted(counts))
        return {pooled.label(claim.format(f"{names}")) + " (strata agree, pooled)": test(pooled)}
    return {c.label(claim.format(a)): test(c) for a, c in sorted(counts.items())}


def w2_xavier(
    tanh: SignalFit | None, tanh_grad: SignalFit | None, relu: SignalFit | None
) -> Verdict:
    """Claim (from the literature, the notes are empty): Xavier keeps the signal's scale
    constant through depth for tanh, not for ReLU (which halves its variance per layer).
    Stable as Glorot & Bengio (2010) mean it: activation spread (`tanh`) and back-propagated
    gradient (`tanh_grad`) roughly constant across layers, read on the better-fitting model
    as the change from the first to the last layer, within 2x either way; ReLU's spread
    (`relu`) shrinks when that change is below 1/2."""
    parts = {
        "tanh activations keep their scale": _change(tanh, lambda e: _within(e, STABLE)),
        "tanh back-propagated gradients keep their scale": _change(
            tanh_grad, lambda e: _within(e, STABLE)
        ),
        "relu activations shrink": _change(relu, lambda e: _not(_above(e, -STABLE))),
    }
    numbers = {
        f"{name}_change_log10": fit.change.mean
        for name, fit in (("tanh", tanh), ("tanh_grad", tanh_grad), ("relu", relu))
        if fit is not None
    }
    key = "; ".join(
        [
            _fit_text("tanh std", tanh),
            _fit_text("tanh ‖∂L/∂h‖", tanh_grad),
            _fit_text("relu std", relu),
        ]
    )
    detail = "Xavier init through depth (stable: within 2× from the first to the last layer)"
    return from_parts("W2", parts, key, numbers, detail)


def w3_kaiming(
    kaiming: Count,
    xavier: Count,
    steps: Estimate,
    acc: Estimate,
    depth: int,
    loss: float,
    xavier_reached: Count | None = None,
) -> Verdict:
    """Claim: deep ReLU nets train with Kaiming init where Xavier stalls (He et al. 2015, at
    30 layers). `kaiming`, `xavier`: runs that trained per init; `steps`: paired per seed,
    Xavier's minus Kaiming's steps to a smoothed training loss under `loss` (a run that
    never got there counts at its budget); `acc`: Kaiming minus Xavier test accuracy.
    `xavier_reached`: Xavier runs whose loss got under `loss` in the budget. Stalling is
    read on it where given, as He et al. read their curves: a run that edges above chance
    but never converges has stalled; else on `xavier` (runs that trained at all)."""
    numbers = {
        "kaiming_trained": kaiming.trained / kaiming.runs if kaiming.runs else math.nan,
        "xavier_trained": xavier.trained / xavier.runs if xavier.runs else math.nan,
        "steps_diff": steps.mean,
        "acc_diff": acc.mean,
    }
    key = (
        f"{depth}-layer relu trained: kaiming {kaiming.fmt()}, xavier {xavier.fmt()}"
        + (f" (under loss {loss:g}: {xavier_reached.fmt()})" if xavier_reached is not None else "")
        + "; steps to "
        f"loss {loss:g} xavier − kaiming {steps.fmt(signed=True, digits=0)}; Δacc kaiming − "
        f"xavier {acc.fmt(signed=True)}"
    )
    parts = {
        kaiming.label(f"kaiming trains at {depth} layers"): kaiming.most(),
        **(
            {
                xavier_reached.label(
                    f"xavier stalls at {depth} layers (no loss under {loss:g} in the budget)"
                ): _not(xavier_reached.most())
            }
            if xavier_reached is not None
            else {xavier.label(f"xavier stalls at {depth} layers"): _not(xavier.most())}
        ),
        "kaiming reaches the loss sooner": _dir(steps),
        "kaiming ends more accurate": _dir(acc),
    }
    verdict = from_parts("W3", parts, key, numbers, f"Kaiming init in {depth}-layer ReLU nets")
    verdict.explanation += _few({"kaiming": kaiming, "xavier": xavier})
    return with_needs(verdict, steps, acc)
