"""T1 and T4 sections on synthetic runs: the negative control, and peeking by count."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ablate.report import practice


class FakeContext:
    def __init__(self, curves: dict[str, pd.DataFrame], out: Path) -> None:
        self.tables, self.out = curves, out

    def curves(self, study: str) -> pd.DataFrame:
        return self.tables.get(study, pd.DataFrame())

    def describe(self, study: str) -> str:
        return f"Study `{study}`."

    def figure(self, name: str) -> tuple[Path, str]:
        return self.out / name, name


def _curves(arch: str, seeds: int, start: float, rate: float) -> pd.DataFrame:
    """Loss falling geometrically from `start` by `rate` per step, over 50 steps."""
    return pd.DataFrame(
        [
            {"key": f"{arch}{s}", "arch": arch, "step": t, "train_loss": start * rate**t}
            for s in range(seeds)
            for t in range(50)
        ]
    )


def test_t1_passes_only_when_the_scrambled_control_fails(tmp_path):
    fit = pd.concat([_curves("plain", 3, 2.3, 0.8), _curves("mlp", 3, 2.3, 0.85)])
    stuck = pd.concat([_curves("plain", 3, 2.3, 0.999), _curves("mlp", 3, 2.3, 0.999)])
    section = practice.t1(FakeContext({"overfit_tiny": fit, "overfit_scrambled": stuck}, tmp_path))
    assert section.verdicts[0].verdict == "supported"
    assert (
        "| plain | scrambled | 0/3 |" in section.body and "| plain | true | 3/3 |" in section.body
    )
    alone = practice.t1(FakeContext({"overfit_tiny": fit}, tmp_path))
    assert alone.verdicts[0].verdict == "inconclusive"  # no control: the check cannot fail
