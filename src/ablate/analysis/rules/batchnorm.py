"""Rules of the batchnorm section: B1 BN position, B2 what BN changes and why."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ablate.analysis.rules.common import Verdict, _dir, with_needs
from ablate.analysis.significance import smallest_p
from ablate.analysis.stats import ALPHA, Estimate

# "Trains at as many rates": the paired difference in the share of (rate, seed) pairs that
# train lies within ±TRAIN_MARGIN (a tenth of the sweep).
TRAIN_MARGIN = 0.1


def _within(est: Estimate, bound: float) -> bool:
    return est.n > 1 and est.lo >= -bound and est.hi <= bound


def _sig(est: Estimate) -> str:
    """An estimate in three significant figures, for quantities with no natural scale."""
    text = f"{est.mean:+.3g} [{est.lo:+.3g}, {est.hi:+.3g}]"
    return text + (f", p={est.p:.3g}" if math.isfinite(est.p) else "")


@dataclass
class PositionStratum:
    """BN before minus BN after the activation in one (family, init) stratum, each unit a
    (rate, seed) pair of runs that differ only in the position: `trains`, the difference
    in whether the run trains (1/0); `acc`, the test-accuracy difference over the pairs
    where both train; `margin`, the equivalence margin for `acc`; `differ`, the pairs in
    which one position trains and the other does not (the only ones that move `trains`)."""

    trains: Estimate
    acc: Estimate
    margin: float
    differ: int | None = None

    def side(self) -> str | None:
        """`pre` or `post` when a measure decides for it and none for the other; `mixed`
        when they decide for different positions; `equal` when both lie within their
        margins; None when a measure is undecided and none decides."""
        sides = set()
        settled = 0
        for est, bound in ((self.trains, TRAIN_MARGIN), (self.acc, self.margin)):
            direction = est.compare()
            if direction != "overlap":
                sides.add("pre" if direction == "higher" else "post")
            elif _within(est, bound) or (est.n > 1 and est.lo == est.hi == 0):
                settled += 1
        if len(sides) == 2:
            return "mixed"
        if sides:
            return sides.pop()
        return "equal" if settled == 2 else None

    def describe(self) -> str:
        """What decides in this stratum, in words."""
        said = []
        for est, what in ((self.trains, "trains at more rates"), (self.acc, "is more accurate")):
            direction = est.compare()
            if direction != "overlap":
                where = "before" if direction == "higher" else "after"
                said.append(f"{where} {what}" + (" where both train" if est is self.acc else ""))
        return ", ".join(said) or SIDE_WORDS[self.side()]


SIDE_WORDS = {
    "pre": "before wins",
    "post": "after wins",
    "mixed": "the measures part ways",
    "equal": "no difference",
    None: "undecided",
}


def b1_position(strata: dict[tuple[str, str], PositionStratum]) -> Verdict:
    """Claim: BN belongs before the activation (FC -> BN -> act). Strata first: per
    (family, init), whether the net trains and how accurate it is where both train, paired
    by (rate, seed) (Holm-adjusted by the caller). Supported (refuted) only when every
    stratum favours before (after) and they span two families; refuted as "no difference
    larger than the margin" when every stratum is equivalent; nuanced, naming them, when
    the decided strata disagree; else inconclusive."""
    sides = {key: s.side() for key, s in strata.items()}
    numbers: dict[str, float] = {}
    for (family, init), s in strata.items():
        numbers[f"{family}/{init}_trains_pre_minus_post"] = s.trains.mean
        numbers[f"{family}/{init}_acc_pre_minus_post"] = s.acc.mean

    def trains(s: PositionStratum) -> str:
        est = s.trains
        if est.n and est.lo == est.hi == 0:
            return f"trains alike in all {est.n} pairs"
        few = ""
        if s.differ is not None and smallest_p(s.differ) >= ALPHA:
            few = f", {s.differ} that differ: too few for p < {ALPHA:g}"
        return f"trains {est.fmt(signed=True, digits=2)} ({est.n} pairs{few})"

    key = "; ".join(
        f"{family}/{init} ({SIDE_WORDS[sides[(family, init)]]}): {trains(s)}, "
        f"accuracy where both train {s.acc.fmt(signed=True)} ({s.acc.n} pairs)"
        for (family, init), s in strata.items()
    )
    key = f"before − after: {key}" if key else "no stratum with both positions"

    def named(side: str | None) -> str:
        return ", ".join(f"{f}/{i}" for (f, i), s in sides.items() if s == side)

    families = {family for family, _ in strata}
    decided = {s for s in sides.values() if s is not None}
    if len(decided) > 1 or "mixed" in decided:
        parts = [
            f"{SIDE_WORDS[side]} in {named(side)}"
            for side in SIDE_WORDS
            if named(side) and side not in ("mixed", "pre", "post")
        ]
        parts = [
            f"in {f}/{i}, {s.describe()}"
            for (f, i), s in strata.items()
            if sides[(f, i)] in ("mixed", "pre", "post")
        ] + parts
        text = "The strata disagree: " + "; ".join(parts) + "."
        return Verdict("B1", "nuanced", key, text, numbers)
    if len(decided) == 1 and None not in sides.values() and len(families) >= 2:
        side = decided.pop()
        where = ", ".join(sorted(families))
        if side == "equal":
            bounds = ", ".join(f"{f}/{i} ±{s.margin:.3f}" for (f, i), s in strata.items())
            text = (
                "No difference larger than the margins in any family and init "
                f"({bounds} in accuracy, ±{TRAIN_MARGIN:.0%} of the sweep in training): the "
                "position does not matter here, so nothing favours before."
            )
            return Verdict("B1", "refuted", key, text, numbers)
        verdict, word = ("supported", "before") if side == "pre" else ("refuted", "after")
        text = (
            f"BN {word} the activation trains at more rates or to higher accuracy in every "
            f"family and init ({where}), and never the other way."
        )
        return Verdict("B1", verdict, key, text, numbers)
    text = "No position wins across every family and init"
    if decided:
        side = next(iter(decided))
        text += f": {SIDE_WORDS[side]} in {named(side)}"
    if named(None):
        text += f"; the intervals span both the margin and zero in {named(None)}"
    if len(families) < 2:
        text += f" (one family measured: {', '.join(sorted(families)) or 'none'})"
    return Verdict("B1", "inconclusive", key, text + ".", numbers)


@dataclass
class NoiseLevel:
    """One noisy-BN amplitude, each estimate over (rate, seed) pairs: `vs_none` and
    `vs_bn`, its test accuracy over the sweep (a run that failed counts at the floor) minus
    that of no BN and of plain BN; `drift`, log10 of the per-step shift its noise gives
    the distribution entering each nonlinearity over the shift one training step gives it
    in the net without BN (> 0: the noise moves it more than training moves no BN's)."""

    vs_none: Estimate
    vs_bn: Estimate
    drift: Estimate


@dataclass(frozen=True)
class ShapeArm:
    """BN bent to a fixed, far-from-normal shape, each estimate over (rate, seed) pairs:
    `vs_none` and `vs_bn` in test accuracy (a failed run at the floor), and `kurtosis`, its
    excess kurtosis entering each nonlinearity minus BN's (> 0: less normal than BN's)."""

    vs_none: Estimate
    vs_bn: Estimate
    kurtosis: Estimate
    trains_vs_bn: Estimate | None = None  # share of (rate, seed) pairs that trained, − BN's
    failed_loss: float = float("nan")  # median peak training loss of its runs that failed
    classes: int = 10


def _shape(skewed: ShapeArm | None, bound: float) -> tuple[bool | str | None, str]:
    """Does normality (apart from stability) carry BN's advantage? False when a BN whose
    output is fixed but measurably less normal than BN's keeps the advantage (better than
    no BN, and not worse than BN beyond `bound`); "partly" when it keeps part of it (better
    than no BN, worse than BN); True when it loses it; None when untested or undecided."""
    if skewed is None or skewed.vs_none.n == 0:
        return None, "the fixed, non-normal BN arm (`skewed_batch`) did not run"
    if skewed.kurtosis.compare() != "higher":
        return None, "the bent BN's input to the nonlinearity is not measurably less normal"
    # Trainability first: a bent BN that fails at rates where BN trains has lost BN's
    # trainable range, whatever its accuracy where it does train.
    if skewed.trains_vs_bn is not None and skewed.trains_vs_bn.compare() == "lower":
        fewer = (
            "a BN bent to a fixed log-normal shape, far less normal than BN's output, trains "
            "at fewer (rate, seed) pairs than BN (trained share "
            f"{skewed.trains_vs_bn.fmt(signed=True)})"
        )
        if skewed.failed_loss > 2 * math.log(skewed.classes):
            fewer += (
                f"; where it fails, its training loss first peaks at {skewed.failed_loss:.3g} "
                f"(median) before it settles near ln {skewed.classes}: it blows up as no BN "
                "does, so what costs the rates may be the log-normal's heavy right tail rather "
                "than the loss of a bell shape as such"
            )
        if skewed.vs_none.compare() == "higher":
            return (
                "partly",
                f"{fewer}, though it still beats no BN ({skewed.vs_none.fmt(signed=True)})",
            )
        return True, f"{fewer}: it loses BN's range of trainable rates"
    if skewed.vs_none.compare() == "higher":
        if skewed.vs_bn.compare() == "lower" and not _within(skewed.vs_bn, bound):
            return "partly", (
                "a BN bent to a fixed log-normal shape, far less normal than BN's output, "
                f"keeps part of the advantage: better than no BN "
                f"({skewed.vs_none.fmt(signed=True)}), worse than BN "
                f"({skewed.vs_bn.fmt(signed=True)})"
            )
        return False, (
            "a BN bent to a fixed log-normal shape, far less normal than BN's output, still "
            "trains better than no BN"
        )
    if skewed.vs_none.compare() == "lower" or _within(skewed.vs_none, bound):
        return True, "a BN bent to a fixed log-normal shape loses BN's advantage over no BN"
    return None, "a BN bent to a fixed log-normal shape neither keeps nor loses the advantage"


def _normality(
    bn_adv: Estimate, levels: dict[float, NoiseLevel], bound: float
) -> tuple[bool | None, str]:
    """Does the "BN helps because it keeps the distribution normal and fixed" account
    survive the noisy-BN test? False (it fails) when some noise level that moves the
    distribution more per step than training moves it without BN still trains better
    than no BN; True when every such level has lost BN's advantage; None otherwise."""
    if not levels or bn_adv.n == 0:
        return None, "the noisy-BN runs (study `bn_noise`) that would test it are missing"
    if bn_adv.compare() != "higher":
        return None, "BN shows no advantage over no BN in the noisy-BN study's net to explain"
    unstable = {a: lv for a, lv in levels.items() if lv.drift.compare() == "higher"}
    if not unstable:
        return None, "no noise level moved the distribution more than training does without BN"
    keep = [a for a, lv in unstable.items() if lv.vs_none.compare() == "higher"]
    lost = [
        a
        for a, lv in unstable.items()
        if lv.vs_none.compare() == "lower" or _within(lv.vs_none, bound)
    ]
    names = ", ".join(f"{a:g}" for a in sorted(unstable))
    if keep:
        rest = [a for a in sorted(unstable) if a not in keep]
        return False, (
            f"with noise of amplitude {', '.join(f'{a:g}' for a in sorted(keep))} after "
            "BN, whose fresh draw each step moves the distribution entering the next layer "
            "more than a training step moves it without BN, the net still trains better "
            "than without BN: a stable, normal distribution is not what BN's advantage rests "
            "on"
            + (
                " (at amplitude "
                + ", ".join(
                    f"{a:g} the advantage is {'lost' if a in lost else 'not shown'} "
                    f"({unstable[a].vs_none.fmt(signed=True)})"
                    for a in rest
                )
                + ")"
                if rest
                else ""
            )
        )
    if len(lost) == len(unstable):
        return True, (
            f"at every noise amplitude that destabilises the distribution more than training "
            f"does without BN ({names}), BN's advantage over no BN is gone"
        )
    return None, f"at amplitudes {names} the advantage over no BN is neither kept nor lost"


def b2_why_bn(
    top_bn: float | None,
    top_none: float | None,
    beta_diff: Estimate,
    easier: dict[str, Estimate],
    bn_adv: Estimate,
    levels: dict[float, NoiseLevel],
    bound: float,
    skewed: ShapeArm | None = None,
    *,
    bn_arm: str = "",
    at_top: tuple[bool, bool] = (False, False),
) -> Verdict:
    """Open question: BN makes training easier; why? Because the data stays normally
    distributed? The verdict answers that hypothesis in its two halves: fixed, with
    Santurkar et al.'s (2018) noisy-BN test (`_normality`: a noisy BN whose distribution
    is neither stable nor standard), and normal, with a BN bent to a fixed log-normal shape
    (`_shape`). Nuanced when the bent BN keeps only part of the advantage (better than no
    BN, worse than BN: the shape matters in part); else refuted when either keeps BN's
    advantage over no BN (the advantage does not need that half), supported when both lose
    it, inconclusive otherwise.
    Measured apart and reported beside it: whether BN makes training easier (`easier`:
    BN minus no BN, per setting, over paired units), whether it widens the trainable
    rates (highest swept rate that trains with and without), and whether it smooths the
    landscape (`beta_diff`: BN minus none, lower is smoother). `bn_adv`: BN minus no BN in
    the noisy-BN study's own net; `bound`: the equivalence margin for "lost". `top_bn` is
    BN's best position's (`bn_arm`, its name): positions are arms, not one pooled stratum.
    `at_top`: whether BN's and no BN's highest rate is the top of the sweep, so only a lower
    bound (a ratio against a censored no-BN rate says nothing)."""

    def rate(value: float | None, censored: bool) -> str:
        return "none" if value is None else ("≥" if censored else "") + f"{value:g}"

    ratio = top_bn / top_none if top_bn and top_none else float("nan")
    numbers = {
        "top_lr_bn": float("nan") if top_bn is None else top_bn,
        "top_lr_none": float("nan") if top_none is None else top_none,
        "top_lr_ratio": ratio,
        "beta_diff": beta_diff.mean,
        "bn_minus_none_noise_study": bn_adv.mean,
        **{f"easier_{name}": est.mean for name, est in easier.items()},
    }
    for amp, lv in levels.items():
        numbers[f"noisy_{amp:g}_minus_none"] = lv.vs_none.mean
        numbers[f"noisy_{amp:g}_minus_bn"] = lv.vs_bn.mean
        numbers[f"noisy_{amp:g}_log10_drift_ratio"] = lv.drift.mean
    fixed, why_fixed = _normality(bn_adv, levels, bound)
    normal, why_normal = _shape(skewed, bound) if bn_adv.compare() == "higher" else (None, "")
    halves = [h for h in (fixed, normal) if h is not None]
    held: bool | str | None = (
        "partly"  # one half holds and the other fails, or a half holds in part
        if "partly" in halves or {True, False} <= set(halves)
        else False
        if False in halves
        else (True if halves and all(halves) else None)
    )
    if skewed is not None and normal is None:
        held = None  # the normal half ran and did not decide: the account is half tested
    why = why_fixed + (f"; {why_normal}" if why_normal else "")
    if skewed is not None:
        numbers["skewed_minus_none"] = skewed.vs_none.mean
        numbers["skewed_minus_bn"] = skewed.vs_bn.mean
        numbers["skewed_kurtosis_minus_bn"] = skewed.kurtosis.mean
    deciding = [a for a, lv in sorted(levels.items()) if lv.drift.compare() == "higher"]
    noisy = "; ".join(
        f"noise {a:g}{' (deciding)' if a in deciding else ''}: "
        f"{lv.vs_none.fmt(signed=True)}, its shift ×{10**lv.drift.mean:.3g} no BN's"
        for a, lv in sorted(levels.items())
    )
    key = (
        f"noisy BN − no BN over (rate, seed) pairs, {noisy or 'not run'}; BN − no BN "
        f"{bn_adv.fmt(signed=True)}"
    )
    if skewed is not None:
        key += f"; fixed log-normal BN − no BN {skewed.vs_none.fmt(signed=True)}"
    bound_ratio = "≥" if at_top[0] else ""
    times = f" (×{bound_ratio}{ratio:g})" if ratio == ratio and not at_top[1] else ""
    bn_name = bn_arm or "BN"
    key += (
        f"; highest rate that trains: {bn_name} {rate(top_bn, at_top[0])}, "
        f"none {rate(top_none, at_top[1])}{times}"
    )

    easy = {n: _dir(e) for n, e in easier.items()}
    smoother = _dir(beta_diff)
    wider = None if top_bn is None and top_none is None else (top_bn or 0) > (top_none or 0)
    if at_top[1] and not wider:
        wider = None  # no BN still trains at the top of the sweep: the comparison is censored
    aside = {
        "BN makes training easier": (
            None
            if not easy or all(v is None for v in easy.values())
            else (False not in easy.values() and True in easy.values())
        ),
        "BN trains at higher learning rates": wider,
        "BN makes the landscape smoother (β)": None if smoother is None else not smoother,
    }
    tags = {True: "holds", False: "fails", None: "unclear"}
    besides = "; ".join(f"{name}: {tags[v]}" for name, v in aside.items())
    verdict = {False: "refuted", True: "supported", None: "inconclusive", "partly": "nuanced"}[held]
    text = (
        f"Does BN help because the data stays normal and fixed? {why[0].upper()}{why[1:]}. "
        f"Measured apart: {besides}."
    )
    result = Verdict("B2", verdict, key, text, numbers)
    undecided = [levels[a].vs_none for a in deciding] or [bn_adv]
    if skewed is not None and normal is None:
        undecided.append(skewed.vs_none)
    return with_needs(result, *undecided)
