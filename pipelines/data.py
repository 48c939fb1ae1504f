"""DVC stage `data`: fetch and prepare the profile's dataset as cached split arrays."""

from __future__ import annotations

from ablate.cli import exit_on_input_error
from ablate.config import compose
from ablate.data.prepare import load
from ablate.sweep.grid import split_overrides
from ablate.sweep.params import load_params


@exit_on_input_error
def main() -> None:
    params = load_params()
    fixed = split_overrides(params["overrides"])[1]  # sweeps prepare their own levels
    cfg = compose([f"profile={params['profile']}", *fixed])
    prepared = load(cfg.data)
    sizes = {k: len(v) for k, v in prepared.splits.items()}
    print(f"data {cfg.data.name}: {prepared.x.shape[1:]} {sizes} hash {prepared.data_hash}")


if __name__ == "__main__":
    main()
