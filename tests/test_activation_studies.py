"""The activation studies' cpu grids give each verdict the units it needs: >= 6 seeds where
seeds are the units (>= 8 per rate for A4), the dying-unit rates without BN (A4), and
activations that separate ReLU's properties (A5)."""

from ablate.config import compose
from ablate.sweep.grid import expand, study_grid


def _levels(study: str) -> dict[str, list[str]]:
    return expand(study_grid("cpu", study, None))


def test_a4_runs_eight_seeds_from_live_to_dying_units_without_bn():
    levels = _levels("dead_units")
    assert len(levels["seed"]) >= 8
    assert {"relu", "leaky_relu"} <= set(levels["model.activation"])
    rates = sorted(map(float, levels["optim.lr"]))
    assert len(rates) >= 4 and rates[0] <= 0.03 and rates[-1] >= 0.15  # live to dying units
    assert compose(["profile=cpu", "study=dead_units"]).model.norm == "none"


def test_a5_separates_slope_sparsity_and_smoothness_with_six_seeds():
    levels = _levels("relu_properties")
    assert len(levels["seed"]) >= 6
    assert set(levels["model.activation"]) >= {
        "relu",  # unit slope, exact zeros, a kink
        "leaky_relu",  # no exact zeros
        "abs",  # no exact zeros
        "gelu",  # smooth
        "tanh",  # saturates, smooth
        "hardtanh",  # saturates, a kink
    }
    cfg = compose(["profile=cpu", "study=relu_properties"])
    assert cfg.model.depth >= 10 and cfg.model.norm == "none"
    # each activation under both inits, each pair at its own rate (the report keeps the
    # init that validates better per activation)
    assert set(levels["model.init"]) == {"xavier", "kaiming"}
    assert list(cfg.study.tune.by) == ["model.activation", "model.init"]


def test_a2_strata_are_depths_with_six_seeds_each():
    levels = _levels("sigmoid_offset")
    assert len(levels["seed"]) >= 6 and len(levels["model.depth"]) >= 2
    assert {"sigmoid", "sigmoid_centered"} <= set(levels["model.activation"])
