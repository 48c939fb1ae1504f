"""Hydra entry point: `python -m ablate.train [overrides]`, or `-m` for a multirun grid."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from ablate.cli import exit_on_input_error, sigterm_as_ctrl_c
from ablate.config import CONF_DIR, register_schema
from ablate.errors import ConfigError

register_schema()
HAND_STUDY = "adhoc"  # the study of hand runs: runs/adhoc is no pipeline output
NO_RUN = ("--cfg", "-c", "--help", "-h", "--hydra-help", "--info", "--resolve")


def refuse_pipeline_output(argv: list[str]) -> None:
    """A hand run of a pipeline study would write into runs/<study>, the output of DVC's
    stage sweep@<study>: refuse unless `runs_dir` is given, naming the ways that do not."""
    if any(arg.split("=", 1)[0] in NO_RUN for arg in argv):
        return
    values = dict(arg.lstrip("+").split("=", 1) for arg in argv if "=" in arg)
    study = values.get("study", HAND_STUDY)
    if study == HAND_STUDY or "runs_dir" in values:
        return
    raise ConfigError(
        f"study={study} would write into runs/{study}, the output of the pipeline's stage "
        f"sweep@{study}. Run the study as the pipeline does (the profile's levels and seeds) "
        f"with `dvc repro sweep@{study}`, or by hand outside its outputs with "
        f"`python pipelines/sweep.py {study} runs_dir=runs/hand`; or give this command "
        "runs_dir=runs/hand (the study file's own levels)"
    )


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
@exit_on_input_error
def main(cfg: DictConfig) -> float | None:
    from ablate.training.run import run  # after Hydra parsed the CLI: --help stays fast

    return run(cfg).get("val_acc")


if __name__ == "__main__":
    exit_on_input_error(refuse_pipeline_output)(sys.argv[1:])
    with sigterm_as_ctrl_c():  # an interrupted multirun stops its workers too
        main()
