"""Rule of the preprocessing section: D1 zero-centred inputs."""

from __future__ import annotations

from ablate.analysis.rules.common import Verdict, _dir, from_parts
from ablate.analysis.stats import Estimate


def d1_centering(
    sign_diff: Estimate, acc_diff: Estimate, speed_diff: Estimate | None = None
) -> Verdict:
    """Open question: why zero-centred inputs? Tested guesses: all-positive inputs make a
    unit's weight-gradient row share one sign (`sign_diff`: raw minus centred single-sign
    fraction), centred data trains better (`acc_diff`: centred minus raw accuracy) and
    faster (`speed_diff`: raw minus centred steps to a training-loss threshold)."""
    numbers = {"sign_diff": sign_diff.mean, "acc_diff": acc_diff.mean}
    key = (
        f"single-sign rows raw − centred {sign_diff.fmt(signed=True)}; Δacc centred − raw "
        f"{acc_diff.fmt(signed=True)}"
    )
    parts = {
        "raw inputs give one-sign gradient rows more often": _dir(sign_diff),
        "centred inputs train better": _dir(acc_diff),
    }
    if speed_diff is not None:
        numbers["speed_diff"] = speed_diff.mean
        key += f"; steps to threshold raw − centred {speed_diff.fmt(signed=True, digits=0)}"
        parts["centred inputs train faster"] = _dir(speed_diff)
    return from_parts("D1", parts, key, numbers, "Zero-centred inputs")
