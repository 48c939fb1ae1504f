"""Forward FLOPs of a net, as the runs record them and as FLOPs matching measures them."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_flops(net: torch.nn.Module, shape: tuple[int, ...]) -> int:
    """Forward FLOPs for one image (torch's flop counter; a multiply-add counts as 2)."""
    was_training = net.training
    net.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, *shape))
    net.train(was_training)
    return int(counter.get_total_flops())
