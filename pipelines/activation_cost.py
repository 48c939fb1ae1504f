"""DVC stage `activation_cost`: time each activation's forward+backward on one tensor."""

from __future__ import annotations

import torch

from ablate.io import atomic_write_text
from ablate.probes.cost import activation_cost
from ablate.sweep.params import load_params


def main() -> None:
    torch.set_num_threads(1)  # one core, as each sweep job uses
    torch.set_flush_denormal(True)
    table = activation_cost()
    out = f"results/{load_params()['profile']}/activation_cost.csv"  # beside the profile's runs
    atomic_write_text(out, table.to_csv(index=False))
    medians = table.groupby("activation")["seconds"].median() * 1e3
    print("activation fwd+bwd ms (median):", medians.round(2).to_dict())


if __name__ == "__main__":
    main()
