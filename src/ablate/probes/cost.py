"""Forward+backward cost of each activation on one large tensor (question A2: is exp()
costly?), timed side by side and repeated, so the report can quote medians and ratios."""

from __future__ import annotations

import time

import pandas as pd
import torch

from ablate.models.activations import ACTIVATIONS


def activation_cost(shape: tuple[int, ...] = (64, 32, 28, 28), repeats: int = 15) -> pd.DataFrame:
    """One row per (activation, repeat): seconds for forward+backward, and the output range
    over inputs spanning [-10, 10]."""
    torch.manual_seed(0)
    x = torch.randn(*shape) * 3
    span = torch.linspace(-10, 10, 10001)
    rows = []
    names = ACTIVATIONS.names()
    for rep in range(repeats):
        for name in names if rep % 2 == 0 else reversed(names):  # alternate order: fair to all
            act = ACTIVATIONS[name]()
            inp = x.clone().requires_grad_(True)
            start = time.perf_counter()
            act(inp).sum().backward()
            seconds = time.perf_counter() - start
            with torch.no_grad():
                out = act(span)
            rows.append(
                {
                    "activation": name,
                    "repeat": rep,
                    "seconds": seconds,
                    "out_min": out.min().item(),
                    "out_max": out.max().item(),
                    "elements": x.numel(),
                }
            )
    return pd.DataFrame(rows)
