"""Hand runs match the pipeline: SGD with momentum by default, the studies designed around
Adam name it, and a hand run never writes into a pipeline study's DVC output unasked."""

from __future__ import annotations

import pytest

from ablate.config import compose
from ablate.errors import ConfigError
from ablate.train import refuse_pipeline_output


def test_hand_runs_use_sgd_and_the_adam_studies_pin_adam():
    one = compose([])
    assert (one.optim.name, one.optim.momentum) == ("sgd", 0.9)
    assert compose(["study=main"]).optim.name == "sgd"
    for study in ("cv_select", "linear_collapse", "overfit_tiny"):
        assert compose([f"study={study}"]).optim.name == "adam", study


def test_a_pipeline_study_by_hand_needs_a_runs_dir():
    with pytest.raises(ConfigError) as err:
        refuse_pipeline_output(["-m", "study=bn", "profile=cpu"])
    message = str(err.value)
    assert "runs/bn" in message and "runs_dir=" in message
    assert "python pipelines/sweep.py bn runs_dir=runs/hand" in message


@pytest.mark.parametrize(
    "argv",
    [
        ["model.activation=tanh"],  # the hand study, runs/adhoc
        ["-m", "study=bn", "runs_dir=/tmp/mine"],
        ["study=bn", "--cfg", "job"],  # prints the config, runs nothing
    ],
)
def test_hand_runs_that_write_no_pipeline_output_pass(argv: list[str]):
    refuse_pipeline_output(argv)
