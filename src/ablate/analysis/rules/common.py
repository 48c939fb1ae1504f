"""The verdict type and what the rules of more than one section share: how sub-claims
combine into a verdict, three-valued tests of an estimate against a bar, the equivalence
margin, and the sample size an undecided comparison would need."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ablate.analysis.power import power_n
from ablate.analysis.stats import Estimate

VERDICTS = ("supported", "refuted", "nuanced", "inconclusive")
NOT_RUN = "not run"


@dataclass
class Verdict:
    qid: str
    verdict: str
    key_number: str  # the one-line evidence of the summary table
    explanation: str
    numbers: dict[str, float] = field(default_factory=dict)  # every number the text quotes
    # Each sub-claim of `from_parts` measured true, false or unclear: the summary names the
    # ones that decide.
    parts: dict[str, bool | None] = field(default_factory=dict)


class MissingEvidence(LookupError):
    """The runs lack a level or study that a rule needs; the ID is reported as not run."""


def not_run(qid: str, reason: str) -> Verdict:
    return Verdict(qid, NOT_RUN, "—", reason)


def needs(est: Estimate) -> str:
    """For an undecided comparison: how many independent units it would need to decide."""
    n = power_n(est)
    if n is None:
        return ""
    if n <= est.n:  # the units are there: the exact test, after Holm, is what holds it back
        return (
            f" Undecided at n = {est.n} {est.unit}: the exact test gives p = {est.p:.3g} after "
            "Holm's correction across the verdict's comparisons."
        )
    return (
        f" Inconclusive at n = {est.n} {est.unit}: at the observed mean and spread it would "
        f"need ~{n} (80% power, normal approximation)."
    )


def with_needs(verdict: Verdict, *deciding: Estimate) -> Verdict:
    """An inconclusive verdict names the units its first undecided comparison would need."""
    undecided = [e for e in deciding if e.n and e.compare() == "overlap"]
    if verdict.verdict == "inconclusive" and undecided:
        verdict.explanation += needs(undecided[0])
    return verdict


def from_parts(
    qid: str, parts: dict[str, bool | None], key: str, numbers: dict[str, float], detail: str
) -> Verdict:
    """A claim made of sub-claims, each measured true, false, or unclear (None: its CI spans
    the threshold). All true: supported; some false and none true: refuted (the claim holds
    nowhere it was decided; unclear parts are named); some unclear and none false:
    inconclusive; a mix of true and false: nuanced, naming which part fails."""
    held = [name for name, ok in parts.items() if ok is True]
    failed = [name for name, ok in parts.items() if ok is False]
    unclear = [name for name, ok in parts.items() if ok is None]
    if held and not failed and not unclear:
        verdict = "supported"
    elif failed and not held:
        verdict = "refuted"
    elif not failed:
        verdict = "inconclusive"
    else:
        verdict = "nuanced"
    tags = [
        f"holds: {', '.join(held)}" if held else "",
        f"fails: {', '.join(failed)}" if failed else "",
        f"unclear (CI spans the threshold): {', '.join(unclear)}" if unclear else "",
    ]
    text = f"{detail} ({'; '.join(t for t in tags if t)})."
    return Verdict(qid, verdict, key, text, numbers, parts=dict(parts))


def _dir(est: Estimate) -> bool | None:
    """True if the difference is clearly positive, False if clearly negative, None if not."""
    return {"higher": True, "lower": False, "overlap": None}[est.compare()]


def _above(est: Estimate, bar: float) -> bool | None:
    """True if the CI lies above `bar`, False if below, None if it spans it or there is no
    CI (one value)."""
    return True if est.lo > bar else False if est.hi < bar else None


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


# The one equivalence rule: an accuracy difference whose whole 95% CI lies within ±m reads
# "no effect larger than ±m". Near the ceiling a fixed margin says little (at 0.97, ±0.01 is
# a third of the errors), so m is ERROR_SHARE of the reference arm's test error rate (at
# 0.97: ±0.0075), never under MIN_MARGIN, two images of a 1,000-image test split.
ERROR_SHARE = 0.25
MIN_MARGIN = 0.002


def margin(reference_acc: float) -> float:
    """The equivalence margin m for accuracy differences against an arm at `reference_acc`."""
    if not math.isfinite(reference_acc):
        return MIN_MARGIN
    return max(MIN_MARGIN, ERROR_SHARE * (1 - reference_acc))


def within(est: Estimate, m: float) -> bool:
    """Its whole CI lies within ±m: no effect larger than the margin."""
    return est.n > 1 and est.lo >= -m and est.hi <= m


def pow10_fmt(est: Estimate) -> str:
    """A log10-scale estimate as a factor with its CI."""
    if not (math.isfinite(est.lo) and math.isfinite(est.hi)):
        return f"{10**est.mean:.3g}" if math.isfinite(est.mean) else "—"
    return f"{10**est.mean:#.3g} [{10**est.lo:#.3g}, {10**est.hi:#.3g}]"
