"""The number a run seeds its init draw and batch order with.

By default that is the run's `seed`, so two arms at different rates share their draws and
pair well. A study whose units are (rate, seed) pairs sets `trainer.seed_by_rate`: each
rate then draws from its own stream, so seed 0 at two rates is two independent draws, not
one draw counted twice.
"""

from __future__ import annotations

import zlib
from typing import Any


def run_seed(cfg: Any) -> int:
    """`cfg.seed`, or with `trainer.seed_by_rate` a fixed mix of seed and rate (CRC32 of
    both, so it is the same on every machine and Python)."""
    if not cfg.trainer.get("seed_by_rate", False):
        return int(cfg.seed)
    return zlib.crc32(f"{int(cfg.seed)}:{float(cfg.optim.lr)!r}".encode())
