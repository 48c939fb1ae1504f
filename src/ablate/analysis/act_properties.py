"""What each activation is, measured on its own module rather than declared: whether it
outputs exact zeros (sparse), whether its slope vanishes on both sides (saturating), and
whether its slope is continuous (smooth). A5 compares activations that differ in one of
these and agree on the others."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ablate.models.activations import ACTIVATIONS

PROPERTIES = ("sparse", "saturating", "smooth")
SPAN = 6.0  # inputs over [-6, 6]: where pre-activations of a trained net mostly lie
SPARSE_SHARE = 0.25  # exact zeros on at least a quarter of the inputs
SATURATED_SLOPE = 0.1  # |f'| below this at both -6 and +6: the slope vanishes both ways
KINK = 0.05  # a jump of |f'| larger than this between neighbouring inputs is a kink


def measure(name: str, points: int = 12_001) -> dict[str, bool]:
    """The three properties of activation `name`, from its outputs and autograd slopes on a
    grid of inputs (spacing 0.001: a smooth slope moves far less than KINK between
    neighbours; ReLU's jumps by 1 at 0, Leaky ReLU's by 0.99)."""
    x = torch.linspace(-SPAN, SPAN, points, dtype=torch.float64, requires_grad=True)
    out = ACTIVATIONS[name]().double()(x)
    (slope,) = torch.autograd.grad(out.sum(), x)
    slope = slope.detach()
    return {
        "sparse": bool((out.detach() == 0).double().mean() >= SPARSE_SHARE),
        "saturating": bool(max(slope[0].abs(), slope[-1].abs()) < SATURATED_SLOPE),
        "smooth": bool(slope.diff().abs().max() < KINK),
    }


def table(names: Iterable[str]) -> dict[str, dict[str, bool]]:
    return {name: measure(name) for name in names}


def one_apart(props: dict[str, dict[str, bool]], prop: str) -> dict[str, tuple[list, list]]:
    """For property `prop`: per setting of the other two properties, the arms that have it
    and the arms that lack it, where both exist: each is a stratum in which `prop` alone
    differs. Keyed by the others' setting in words, e.g. 'not saturating, not smooth'."""
    if prop not in PROPERTIES:
        raise ValueError(f"prop={prop!r} is not valid; choose one of: {', '.join(PROPERTIES)}")
    others = [p for p in PROPERTIES if p != prop]
    strata: dict[str, tuple[list, list]] = {}
    for name, p in props.items():
        words = ", ".join(o if p[o] else f"not {o}" for o in others)
        has, lacks = strata.setdefault(words, ([], []))
        (has if p[prop] else lacks).append(name)
    return {k: (sorted(h), sorted(n)) for k, (h, n) in strata.items() if h and n}
