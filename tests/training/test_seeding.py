"""The seed a run draws from: its own, or one per (seed, rate) where a study asks."""

from __future__ import annotations

import math

from omegaconf import OmegaConf

from ablate.training.seeding import run_seed
from ablate.training.stacked import _diverged_at


def cfg(seed: int, lr: float, by_rate: bool):
    return OmegaConf.create(
        {"seed": seed, "optim": {"lr": lr}, "trainer": {"seed_by_rate": by_rate}}
    )


def test_by_default_every_rate_shares_the_seed():
    assert run_seed(cfg(3, 0.1, False)) == run_seed(cfg(3, 1.0, False)) == 3


def test_seed_by_rate_gives_each_rate_its_own_fixed_draw():
    draws = {run_seed(cfg(s, lr, True)) for s in (0, 1) for lr in (0.03, 0.1)}
    assert len(draws) == 4  # two seeds x two rates: four independent streams
    assert run_seed(cfg(0, 0.1, True)) == run_seed(cfg(0, 0.1, True)) < 2**32


def test_only_a_non_finite_loss_is_divergence():
    assert _diverged_at([2.3, 300.0, 1e9, 2.0]) is None  # a finite spike may come back
    assert _diverged_at([2.3, 300.0, math.inf, math.nan]) == 2
