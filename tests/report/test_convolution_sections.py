"""C1, C2 and C4 sections on synthetic run tables shaped like results/runs.csv: the arms
each verdict reads, paired over the profile's seeds (7; 8 for C2), with effects planted
where the rules look."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ablate.report.context import Context
from ablate.report.convolution import c1, c2
from ablate.report.families import c4

BASE = {
    "status": "ok",
    "role": "grid",
    "activation": "relu",
    "init": "kaiming",
    "norm": "batch",
    "norm_position": "pre",
    "downsampling": "maxpool",
    "arch": "plain",
    "width": 8,
    "depth": 1,
    "stages": 3,
    "reduction": "none",
    "match_flops": False,
    "stem": "k3s1p1",
    "head": "flatten",
    "dataset": "mnist5k",
    "shift_px": 0,
    "preprocessing": "standardize",
    "train_limit": 3600,
    "batch_size": 64,
    "optimizer": "sgd",
    "lr": 0.1,
    "max_epochs": 3,
    "max_steps": 300,
    "schedule": "warmup_cosine",
    "stopped": None,
    "classes": 10,
    "majority_acc": 0.1,
    "params": 20000,
    "flops_per_image": 2_000_000,
    "train_images_per_s": 1000.0,
    "infer_images_per_s": 5000.0,
    "probe_unread_ink_share": 0.0,
}


def rows(study: str, acc: float, seeds: int = 7, **axes) -> list[dict]:
    """`seeds` runs of one arm; seeds move accuracy by up to 0.002 alike in every arm."""
    return [
        {**BASE, "study": study, "seed": s, "test_acc": acc + 0.001 * (s % 3), **axes}
        | {"val_acc": acc, "key": f"{study}-{s}-{sorted(axes.items())}"}
        for s in range(seeds)
    ]


def context(tmp_path: Path, *frames: list[dict]) -> Context:
    runs = pd.DataFrame([r for frame in frames for r in frame])
    studies = sorted(runs["study"].unique())
    return Context(runs=runs, params={"studies": studies}, out_dir=tmp_path)


def test_c1_reads_the_grouped_branch_and_the_equal_width_cost(tmp_path):
    arm = {"arch": "resnet", "width": 12}
    control = {**arm, "flops_per_image": 10_000_000, "params": 67000}
    pointwise = {**arm, "reduction": "pointwise", "flops_per_image": 1_100_000, "params": 28000}
    ctx = context(
        tmp_path,
        rows("bottleneck", 0.975, **control),
        rows("bottleneck", 0.966, **pointwise),
        rows("bottleneck", 0.975, **{**pointwise, "match_flops": True, "flops_per_image": 1e7}),
        rows("mixing", 0.950, **arm, reduction="grouped", flops_per_image=600_000),
        rows("mixing", 0.955, **{**arm, "width": 20}, reduction="grouped", flops_per_image=1.2e6),
    )
    section = c1(ctx)
    (verdict,) = section.verdicts
    assert verdict.verdict == "supported"  # cuts cost, mixing helps, no loss when matched
    assert verdict.numbers["equal_width_cost"] == pytest.approx(-0.009)
    assert "lower than the control in 7 of 7 seeds" in section.body
    # The grouped arm with at least pointwise's FLOPs decides; equal width is reported.
    assert verdict.numbers["mixing"] == pytest.approx(0.011)
    assert verdict.numbers["mixing_flops_ratio"] == pytest.approx(1.2e6 / 1.1e6)
    assert "pointwise − grouped @ width 20 (decides)" in section.body
    assert "pointwise − grouped, at ×0.55 the FLOPs (reported)" in section.body
    # Without the wider arm, equal width decides and the sub-claim names the confound.
    narrow = ctx.runs[ctx.runs["width"] != 20]
    (verdict,) = c1(context(tmp_path, narrow.to_dict("records"))).verdicts
    assert verdict.numbers["mixing"] == pytest.approx(0.016)
    assert "capacity not ruled out" in verdict.explanation


def test_c2_decides_on_moved_digits_per_padding_pair(tmp_path):
    study = "stride_fit"
    stems = {  # test accuracy on stored and on moved digits, FLOPs per image
        "k3s1p1": (0.975, 0.970, 1_950_000),
        "k3s2p0": (0.969, 0.950, 390_000),
        "k3s2p1": (0.969, 0.965, 455_000),
        "k5s3p0": (0.965, 0.940, 175_000),
        "k5s3p1": (0.962, 0.960, 202_000),
        "k5s3p2": (0.962, 0.960, 252_000),
    }
    frames = [
        rows(study, acc, 8, stem=stem, shift_px=n, probe_unread_ink_share=ink, flops_per_image=f)
        for stem, (stored, moved, f) in stems.items()
        for n, acc, ink in ((0, stored, 0.001), (4, moved, 0.05))
    ]
    section = c2(context(tmp_path, *frames))
    (verdict,) = section.verdicts
    # Both unread pairs lose accuracy on moved digits, and each loser has the smaller map:
    # map size orders every resolved pair, so padding's own effect cannot be told apart.
    assert verdict.verdict == "inconclusive"
    assert "cannot tell unread pixels or a remainder from a smaller map" in verdict.explanation
    assert "k3s2p0 − k3s2p1: output 13 vs 14" in section.body  # 28 px
    assert "k3s2p0 − k3s2p1 -0.015" in verdict.key_number
    # k5s3p0 now beats its larger-map partner: map size no longer orders the pairs.
    stems["k5s3p0"] = (0.965, 0.975, 175_000)
    frames = [
        rows(study, acc, 8, stem=stem, shift_px=n, probe_unread_ink_share=ink, flops_per_image=f)
        for stem, (stored, moved, f) in stems.items()
        for n, acc, ink in ((0, stored, 0.001), (4, moved, 0.05))
    ]
    (verdict,) = c2(context(tmp_path, *frames)).verdicts
    assert verdict.verdict == "nuanced"  # one unread pair loses, the other gains
    assert "No effect larger than ±0.0073" in verdict.explanation  # the remainder pair
    assert "less compute" in verdict.explanation


def test_c2_without_moved_digits_is_not_run(tmp_path):
    from ablate.analysis.rules.common import MissingEvidence

    frames = [rows("stride_fit", 0.97, stem=s) for s in ("k3s2p0", "k3s2p1")]
    with pytest.raises(MissingEvidence, match="data.shift_px"):
        c2(context(tmp_path, *frames))


def test_c4_reads_matched_families_and_counts_what_trains_per_depth(tmp_path):
    fam = "families"
    deg = "degradation"
    frames = [
        rows(fam, 0.975),
        rows(fam, 0.980, arch="resnet", flops_per_image=1_900_000, width=5),
        rows(fam, 0.975, arch="inception"),
    ]
    for depth, plain_loss, plain_acc in ((3, 0.10, 0.93), (9, 0.20, 0.90), (24, 2.3, 0.11)):
        for arch, loss, acc in (("resmlp", 0.10, 0.93), ("resmlp_noskip", plain_loss, plain_acc)):
            frames.append(
                [
                    r | {"final_train_loss": loss + 0.01 * r["seed"], "trained": acc > 0.2}
                    for r in rows(deg, acc, arch=arch, depth=depth, width=64)
                ]
            )
    section = c4(context(tmp_path, *frames))
    (verdict,) = section.verdicts
    # ResNet beats plain at matched FLOPs, Inception is no better (within the margin): the
    # family half is split; the degradation half holds.
    assert verdict.verdict == "nuanced"
    assert "fails: inception beats the plain stack at matched FLOPs" in verdict.explanation
    assert "holds: resnet beats the plain stack" in verdict.explanation
    assert "the shortcut trains the 50-layer stack to a lower training loss" in (
        verdict.explanation
    )
    assert "resmlp_noskip 7/7, 7/7, 0/7" in verdict.key_number
    assert "resmlp_noskip from 50 layers" in verdict.explanation
    assert "No effect larger than ±0.0060" in verdict.explanation  # Inception, not ResNet
    assert "inception − plain +0.000" in verdict.explanation
    assert "resnet − plain +0.005" not in verdict.explanation
    assert (tmp_path / "figures" / "c4_degradation.png").exists()
