"""Hydra entry point: `python -m ablate.train [overrides]`, or `-m` for a multirun grid."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ablate.cli import exit_on_input_error, sigterm_as_ctrl_c
from ablate.config import CONF_DIR, register_schema

register_schema()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
@exit_on_input_error
def main(cfg: DictConfig) -> float | None:
    from ablate.training.run import run  # after Hydra parsed the CLI: --help stays fast

    return run(cfg).get("val_acc")


if __name__ == "__main__":
    with sigterm_as_ctrl_c():  # an interrupted multirun stops its workers too
        main()
