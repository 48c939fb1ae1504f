"""Forward+backward cost of each activation on one large tensor (question A2: is exp()
costly?), timed side by side and repeated, so the report can quote medians and ratios."""

from __future__ import annotations

import time

import pandas as pd
import torch

from ablate.models.activations import ACTIVATIONS


def activation_cost(
    shape: tuple[int, ...] = (64, 32, 28, 28), repeats: int = 30, inner: int = 3
) -> pd.DataFrame:
    """One row per (activation, repeat): seconds for forward+backward, the fastest of `inner`
    rounds in which every activation is called once in turn (a call the machine slowed for
    other work is dropped, not averaged in), and the output range over inputs spanning
    [-10, 10]. The activations of a repeat are timed interleaved, in an order that alternates
    between repeats, so a ratio per repeat compares calls made side by side."""
    torch.manual_seed(0)
    x = torch.randn(*shape) * 3
    span = torch.linspace(-10, 10, 10001)
    rows = []
    names = ACTIVATIONS.names()
    acts = {name: ACTIVATIONS[name]() for name in names}
    for rep in range(repeats):
        order = names if rep % 2 == 0 else list(reversed(names))  # alternate: fair to all
        best = dict.fromkeys(order, float("inf"))
        for _ in range(inner):
            for name in order:
                best[name] = min(best[name], _fwd_bwd(acts[name], x))
        for name in order:
            with torch.no_grad():
                out = acts[name](span)
            rows.append(
                {
                    "activation": name,
                    "repeat": rep,
                    "seconds": best[name],
                    "out_min": out.min().item(),
                    "out_max": out.max().item(),
                    "elements": x.numel(),
                }
            )
    return pd.DataFrame(rows)


def _fwd_bwd(act: torch.nn.Module, x: torch.Tensor) -> float:
    inp = x.clone().requires_grad_(True)
    start = time.perf_counter()
    act(inp).sum().backward()
    return time.perf_counter() - start
