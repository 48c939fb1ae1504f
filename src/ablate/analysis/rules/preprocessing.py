"""Rule of the preprocessing section: D1 zero-centred inputs.

The one-sign property of a first-layer gradient row under all-positive inputs is arithmetic
(every entry is the unit's error times a positive input), so it is reported as a fact, not
tested. What is tested is its consequence (LeCun et al. 1998): a non-zero input mean slows
descent. Each activation is a stratum, each input level is compared with centred inputs,
and every comparison is paired per seed with each arm at its own best rate."""

from __future__ import annotations

from ablate.analysis.rules.common import (
    Verdict,
    _dir,
    from_parts,
    with_needs,
    within,
)
from ablate.analysis.stats import Estimate

Arm = tuple[str, str]  # (input level compared with centred inputs, activation)


STEP_SHARE = 0.25  # within 25% of centred inputs' steps: no effect (A5's ×1.25 band)


def d1_centering(
    speed: dict[Arm, Estimate],
    acc: dict[Arm, Estimate],
    loss: float,
    acc_margin: float,
    step_margin: float = 0.0,
) -> Verdict:
    """Open question: why zero-centred inputs? Tested consequence: inputs with a mean train
    slower. `speed`: per (level, activation), the level's minus centred inputs' steps to a
    smoothed training loss under `loss` (a run that never got there counts at its budget;
    positive: centred is faster), no faster where its CI lies within ±`step_margin` steps
    (STEP_SHARE of centred inputs' median steps); `acc`: centred minus the level's test
    accuracy (context, with the equivalence margin `acc_margin` named where it holds)."""
    beyond = f" by more than {step_margin:.0f} steps" if step_margin > 0 else ""
    parts = {
        f"centred inputs reach the loss sooner than {level} ({act}){beyond}": (
            False if step_margin > 0 and within(est, step_margin) else _dir(est)
        )
        for (level, act), est in sorted(speed.items())
    }
    numbers = {f"steps_{level}_{act}": est.mean for (level, act), est in speed.items()}
    numbers |= {f"acc_{level}_{act}": est.mean for (level, act), est in acc.items()}
    key = "; ".join(
        f"{act}: steps to loss {loss:g} {level} − centred {est.fmt(signed=True, digits=0)}"
        for (level, act), est in sorted(speed.items())
    )
    verdict = from_parts("D1", parts, key, numbers, "Zero-centred inputs train faster")
    alike = [
        f"{level} ({act})" for (level, act), e in sorted(speed.items()) if within(e, step_margin)
    ]
    if step_margin > 0 and alike:
        verdict.explanation += (
            f" Speed: no difference larger than ±{step_margin:.0f} steps ({STEP_SHARE:.0%} of "
            f"centred inputs' median) between centred and {', '.join(alike)} inputs."
        )
    same = [f"{level} ({act})" for (level, act), e in sorted(acc.items()) if within(e, acc_margin)]
    if same:
        verdict.explanation += (
            f" Accuracy: no effect larger than ±{acc_margin:.3f} between centred and "
            f"{', '.join(same)} inputs."
        )
    return with_needs(verdict, *speed.values())
