"""The activation sections read the deciding experiments with the units of the design."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ablate.analysis.rules.common import MissingEvidence
from ablate.report import activations, sigmoid, why_relu

from . import activation_runs as runs

PROPERTIES_FAST_RELU = {
    "relu": 100,
    "leaky_relu": 100,  # exact zeros do not matter here
    "abs": 100,
    "softplus": 120,
    "elu": 110,
    "gelu": 115,
    "tanh": 300,
    "hardtanh": math.nan,  # never reaches the threshold: counts at the budget
}


def test_a5_decides_on_steps_to_loss_and_the_main_grids_cells(tmp_path):
    ctx = runs.context(runs.relu_properties(PROPERTIES_FAST_RELU) + runs.main_grid(0.02), tmp_path)
    section = why_relu.a5(ctx)
    (verdict,) = section.verdicts
    assert verdict.verdict == "supported", verdict.explanation
    assert "8 cells" in verdict.key_number and "relu ahead in 8 of 8" in verdict.key_number
    assert "6 seeds" in verdict.key_number
    assert "exact zeros (sparsity): no effect larger than ×1.25" in verdict.explanation
    assert "hardtanh vs abs, leaky_relu" in section.body


def test_a5_without_tanh_in_the_main_grid_still_decides_on_speed(tmp_path):
    ctx = runs.context(runs.relu_properties(PROPERTIES_FAST_RELU), tmp_path)
    section = why_relu.a5(ctx)
    (verdict,) = section.verdicts
    assert verdict.verdict == "inconclusive"  # the conv-cell part has no cells
    assert "relu reaches the training-loss threshold in fewer steps" in verdict.explanation
    assert "no relu and tanh conv cells" in section.body


def test_a5_without_steps_to_loss_is_not_run(tmp_path):
    rows = runs.relu_properties(PROPERTIES_FAST_RELU) + runs.main_grid(0.02)
    for row in rows:
        row.pop("steps_to_loss", None)
    with pytest.raises(MissingEvidence, match="steps_to_loss"):
        why_relu.a5(runs.context(rows, tmp_path))


DEAD = {0.03: 0.0, 0.1: 0.1, 0.3: 0.7}


def test_a4_counts_a_diverged_run_against_its_arm(tmp_path):
    acc = {
        ("relu", 0.03): 0.97,
        ("leaky_relu", 0.03): 0.97,
        ("relu", 0.1): 0.96,
        ("leaky_relu", 0.1): 0.96,
        ("relu", 0.3): 0.9,  # units died, the net still learned
        ("leaky_relu", 0.3): math.nan,  # diverged: enters at the majority share, 0.118
    }
    section = activations.a4(runs.context(runs.dead_units(acc, DEAD), tmp_path))
    (verdict,) = section.verdicts
    # lr 0.3: leaky diverges where ReLU trains; lr 0.1: no accuracy effect where both train
    assert verdict.verdict == "refuted", verdict.explanation
    assert "Leaky ReLU trains less often" in verdict.explanation
    assert "16 (rate, seed) pairs at lr 0.1, 0.3" in verdict.key_number
    assert "leaky_relu trained 8/16, diverged 8/16" in verdict.key_number
    assert (tmp_path / "figures" / "a4_dead_units.png").exists()


def test_a4_leaves_out_pairs_where_neither_arm_trained(tmp_path):
    acc = {
        ("relu", 0.1): 0.96,
        ("leaky_relu", 0.1): 0.96,
        ("relu", 0.3): 0.2,  # both fail at 0.3: two floors say nothing
        ("leaky_relu", 0.3): math.nan,
    }
    section = activations.a4(runs.context(runs.dead_units(acc, DEAD), tmp_path))
    (verdict,) = section.verdicts
    assert verdict.verdict == "refuted" and "neither arm trains more often" in verdict.explanation
    assert "no accuracy difference beyond ±" in verdict.explanation
    assert "16 (rate, seed) pairs at lr 0.1, 0.3" in verdict.key_number  # trainability
    assert "(8 (rate, seed) pairs); ReLU dead" in verdict.key_number  # accuracy: lr 0.1 only
    assert "8 (rate, seed) pairs where an arm did not train left out" in section.body


def test_a4_rates_that_disagree_are_named(tmp_path):
    acc = {
        ("relu", 0.03): 0.97,
        ("leaky_relu", 0.03): 0.97,
        ("relu", 0.1): 0.96,
        ("leaky_relu", 0.1): 0.90,
        ("relu", 0.3): 0.2,
        ("leaky_relu", 0.3): 0.95,
    }
    (verdict,) = activations.a4(runs.context(runs.dead_units(acc, DEAD), tmp_path)).verdicts
    # leaky trains at 0.3 where ReLU does not, but is less accurate at 0.1 where both train
    assert verdict.verdict == "nuanced"
    assert "Leaky ReLU trains more often" in verdict.explanation
    assert "lr 0.1: lower" in verdict.explanation


def test_a2_offset_strata_and_gradient_pairs_come_from_sigmoid_offset(tmp_path):
    acc = {
        (2, "relu"): 0.93,
        (2, "sigmoid"): 0.88,
        (2, "sigmoid_centered"): 0.88,
        (5, "relu"): 0.93,
        (5, "sigmoid"): 0.11,
        (5, "sigmoid_centered"): 0.87,
    }
    rows = runs.sigmoid_offset(acc)
    ctx = runs.context(rows, tmp_path)
    factor = {"relu": 1.0, "sigmoid": 0.25, "sigmoid_centered": 0.25}  # per layer to the input
    ctx.probes = pd.DataFrame(
        {
            "study": "sigmoid_offset",
            "key": r["key"],
            "kind": "grad",
            "when": "init",
            "layer_idx": i,
            "grad_norm": factor[r["activation"]] ** (5 - i),
        }
        for r in rows
        if r["depth"] == 5
        for i in range(6)
    )
    offset = sigmoid._offset_runs(ctx)
    assert len(offset) == 36
    assert sigmoid._offset_margin(offset) == pytest.approx(0.25 * 0.07, abs=2e-3)
    shrink, source = sigmoid._shrink_runs(ctx, offset)
    assert source == "sigmoid_offset, 5 hidden layers" and len(shrink) == 18
    sigmoid_shrink = shrink[shrink["activation"] == "sigmoid"]["shrink"]
    assert sigmoid_shrink.to_numpy() == pytest.approx([math.log10(0.25)] * 6)


def test_a5_keeps_each_activation_at_the_init_that_validates_better(tmp_path):
    good = runs.relu_properties(PROPERTIES_FAST_RELU)
    # The same activations under xavier: worse on validation and slower, relu most of all.
    worse = runs.relu_properties(
        {a: s * (8 if a == "relu" else 2) for a, s in PROPERTIES_FAST_RELU.items()}
    )
    for row in worse:
        row.update(init="xavier", key=row["key"] + "x", val_acc=row["val_acc"] - 0.05)
    both = why_relu.a5(runs.context(good + worse + runs.main_grid(0.02), tmp_path / "both"))
    alone = why_relu.a5(runs.context(good + runs.main_grid(0.02), tmp_path / "alone"))
    assert both.verdicts[0].key_number == alone.verdicts[0].key_number
    assert "| relu | — | yes | — | kaiming |" in both.body
    assert "{kaiming, xavier} that validates better" in both.body


def test_a4_gives_the_main_grids_leaky_minus_relu_per_init_as_context(tmp_path):
    from ablate.report.activations import _across_inits

    rows = []
    for init, gap in (("kaiming", 0.004), ("xavier", -0.002)):
        for norm in ("batch", "none"):
            for down in ("maxpool", "strided_conv", "conv_layer"):
                for seed in range(2):
                    for act, acc in (("relu", 0.95), ("leaky_relu", 0.95 + gap)):
                        rows.append(
                            runs._run(
                                "main",
                                len(rows),
                                seed=seed,
                                activation=act,
                                init=init,
                                norm=norm,
                                arch="plain",
                                downsampling=down,
                                lr=0.03,
                                test_acc=acc + 0.001 * seed,
                                val_acc=acc,
                                probe_dead_frac_end=0.1 if act == "relu" else 0.0,
                            )
                        )
    text = _across_inits(runs.context(rows, tmp_path))
    assert "kaiming: +0.004" in text and "xavier: -0.002" in text and "(6 cells)" in text
    assert "median 10%, up to 10%" in text
    assert _across_inits(runs.context(runs.main_grid(0.02), tmp_path / "none")) == ""


def test_a_study_names_only_the_early_stops_its_runs_made(tmp_path):
    rows = runs.dead_units({("relu", 0.1): 0.96, ("leaky_relu", 0.1): 0.96}, DEAD)
    for row in rows[:2]:
        row["stopped"] = "converged"
    text = runs.context(rows, tmp_path).describe("dead_units")
    assert "2 runs stopped early: 2 `converged` (training loss ~0)" in text
    assert "stalled" not in text
