from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower, TTestPower

from ablate.analysis.paired import (
    paired_by_stratum,
    paired_diff,
    paired_on_units,
    paired_per_seed,
    paired_units,
)
from ablate.analysis.power import points_toward, power_n
from ablate.analysis.significance import holm, least_units, sign_flip_p, smallest_p
from ablate.analysis.stats import Estimate, diff_of_means, intervals_overlap, level_means, mean_ci

DRAWS = 2000


def _covers(est: Estimate, truth: float) -> bool:
    return est.lo <= truth <= est.hi


@pytest.mark.parametrize("n", [2, 3, 4, 10])
def test_mean_interval_covers_the_true_mean_95_percent_of_the_time(n):
    rng = np.random.default_rng(n)
    hits = [_covers(mean_ci(rng.normal(0.7, 0.05, n)), 0.7) for _ in range(DRAWS)]
    assert 0.93 <= np.mean(hits) <= 0.97


def _grid(rng: np.random.Generator, cells: int, seeds: int, effect: float) -> pd.DataFrame:
    """Two arms over `cells` cells and `seeds` seeds; the effect varies between cells (sd
    0.03) more than between seeds (sd 0.01), so runs of one cell are not exchangeable with
    runs of another."""
    rows = []
    for cell in range(cells):
        base, cell_effect = rng.normal(0.6, 0.1), rng.normal(effect, 0.03)
        for seed in range(seeds):
            for arm, shift in (("a", cell_effect), ("b", 0.0)):
                acc = base + shift + rng.normal(0, 0.01)
                rows.append({"cell": cell, "seed": seed, "arm": arm, "test_acc": acc})
    return pd.DataFrame(rows)


def test_paired_interval_covers_the_true_effect_at_3_to_10_cells():
    rng = np.random.default_rng(7)
    hits = []
    for i in range(1200):
        cells = 3 + i % 8
        est = paired_diff(_grid(rng, cells, 2, 0.02), "arm", "a", "b", ["cell", "seed"])
        assert est.unit == "cells" and est.n == cells
        hits.append(_covers(est, 0.02))
    assert 0.93 <= np.mean(hits) <= 0.97


def test_one_value_has_no_interval_and_never_decides():
    one = mean_ci([0.5])
    assert one.n == 1 and math.isnan(one.lo) and math.isnan(one.hi)
    assert one.compare() == "overlap"
    assert "nan" not in one.fmt() and "no CI" in one.fmt()
    assert mean_ci([]).n == 0 and mean_ci([]).fmt() == "n/a"


def test_mean_ci_is_the_student_t_interval_and_ignores_nan():
    est = mean_ci([0.1, 0.4, float("nan"), 0.3])
    half = sps.t.ppf(0.975, 2) * np.std([0.1, 0.4, 0.3], ddof=1) / math.sqrt(3)
    assert est.n == 3 and est.mean == pytest.approx(0.8 / 3)
    assert est.hi - est.mean == pytest.approx(half)


def test_sign_flip_on_one_unit_is_one():
    assert sign_flip_p([0.3]) == 1.0
    assert paired_units([0.3], "seeds").p == 1.0


def test_sign_flip_is_exact():
    # 4 positive pairs: only all-plus and all-minus reach |sum| = 10, so p = 2/16.
    assert sign_flip_p([1, 2, 3, 4]) == 0.125
    # [1, 2, 3]: the 8 sign patterns sum to ±6, ±4, ±2, 0, 0, so |sum| >= 4 in 4 of 8.
    assert sign_flip_p([-1, 2, 3]) == 0.5
    assert sign_flip_p([0.2]) == 1.0  # one unit: +x and -x are equally extreme
    x = [0.03, -0.01, 0.02, 0.05, 0.04, -0.02, 0.06]
    reference = sps.permutation_test(
        (np.array(x),),
        np.mean,
        permutation_type="samples",
        n_resamples=np.inf,
        alternative="two-sided",
    ).pvalue
    assert sign_flip_p(x) == pytest.approx(reference)


def test_sign_flip_beyond_16_units_is_a_fixed_seed_monte_carlo():
    x = np.random.default_rng(3).normal(0.3, 1, 20)
    assert sign_flip_p(x) == sign_flip_p(x)
    assert 1 / 20_001 <= sign_flip_p(x) <= 1


def test_holm_on_a_known_vector():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, float("nan"), 0.01])[2] == pytest.approx(0.02)
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ds": ["pool", "stride"] * 4,
            "arch": ["a", "a", "b", "b"] * 2,
            "seed": [0, 0, 0, 0, 1, 1, 1, 1],
            "test_acc": [0.5, 0.6, 0.7, 0.75, 0.52, 0.61, 0.69, 0.76],
        }
    )


def test_paired_diff_averages_seeds_within_cells():
    est = paired_diff(_table(), "ds", "stride", "pool", ["arch", "seed"])
    # Two cells and two seeds: cells are the units (a: 0.1, 0.09; b: 0.05, 0.07).
    assert est.unit == "cells" and est.n == 2
    assert est.mean == pytest.approx(np.mean([0.095, 0.06]))
    assert est.p == 0.5  # two positive units: 2 of 4 sign patterns


def test_paired_diff_falls_back_to_seeds_with_one_cell():
    one_cell = _table()[_table()["arch"] == "a"]
    est = paired_diff(one_cell, "ds", "stride", "pool", ["arch", "seed"])
    assert est.unit == "seeds" and est.n == 2
    assert est.mean == pytest.approx(0.095)


def test_paired_diff_is_identical_in_any_row_order():
    rng = np.random.default_rng(0)
    df = _grid(rng, 5, 3, 0.02)
    shuffled = df.sample(frac=1, random_state=1)
    assert paired_diff(df, "arm", "a", "b", ["cell", "seed"]) == paired_diff(
        shuffled, "arm", "a", "b", ["cell", "seed"]
    )


def test_compare_needs_the_test_to_agree():
    # A tight t-interval over 4 units excludes 0, but 4 units cannot reach p < 0.05.
    rows = _grid(np.random.default_rng(1), 4, 1, 0.05)
    est = paired_diff(rows, "arm", "a", "b", ["cell", "seed"])
    assert est.lo > 0 and est.p == 0.125
    assert est.compare() == "overlap"
    assert power_n(est) == 6  # the least n at which the sign-flip test can decide


def test_diff_of_means_is_welch():
    a, b = [0.9, 0.92, 0.91, 0.95], [0.5, 0.7, 0.6]
    est = diff_of_means(a, b)
    welch = sps.ttest_ind(a, b, equal_var=False)
    assert est.p == pytest.approx(welch.pvalue)
    ci = welch.confidence_interval()
    assert (est.lo, est.hi) == pytest.approx((ci.low, ci.high))
    assert est.compare() == "higher" and est.n == 3
    assert diff_of_means([0.5], [0.4, 0.3]).compare() == "overlap"


def test_power_n_grows_as_the_effect_shrinks_against_its_spread():
    est = Estimate(0.01, -0.02, 0.04, 4, p=0.4, sd=0.03)
    # The older call, at the observed mean: ((1.96 + 0.84) * 0.03 / 0.01)^2 = 70.6
    assert power_n(est) == 71
    assert power_n(Estimate(0.02, -0.01, 0.05, 4, sd=0.03)) < power_n(est)
    assert power_n(Estimate(0.0, -0.1, 0.1, 4, sd=0.03)) is None
    # With the claimed effect: statsmodels' paired t-test power (d = 1/3 needs 72.6 units;
    # the t-test needs a little more than the normal approximation).
    reference = TTestPower().solve_power(effect_size=1 / 3, alpha=0.05, power=0.8)
    assert power_n(est, effect=0.01) == math.ceil(reference) == 73
    assert power_n(est, effect=0.5) == 6  # a huge effect: the sign-flip test's floor


def test_power_points_toward_the_claim_not_the_observed_mean():
    # The claim predicts +0.01; the runs point the other way (mean -0.05, sd 0.03).
    against = Estimate(-0.05, -0.08, -0.02, 4, p=0.125, sd=0.03)
    assert power_n(against) == 6  # the observed mean alone: "a few seeds from decided"
    toward_claim = power_n(against, effect=0.01)
    assert toward_claim == power_n(Estimate(0.05, 0.02, 0.08, 4, sd=0.03), effect=0.01) == 73
    assert not points_toward(against, 0.01) and points_toward(against, -0.01)
    assert power_n(against, effect=0.0) is None
    assert power_n(replace(against, sd=0.0), effect=0.01) is None  # no spread: no n to name


def test_power_of_two_groups_counts_units_per_arm():
    est = Estimate(0.01, -0.02, 0.04, 4, sd=0.03)  # sd of one replicate per arm, summed
    reference = TTestIndPower().solve_power(
        effect_size=0.01 / (0.03 / math.sqrt(2)), alpha=0.05, power=0.8
    )
    assert power_n(est, effect=0.01, design="two_sample") == math.ceil(reference)
    with pytest.raises(ValueError, match="unknown design 'anova'; valid: paired, two_sample"):
        power_n(est, design="anova")


def test_smallest_p_says_which_n_cannot_decide():
    assert smallest_p(3) == 0.25 and smallest_p(6) == pytest.approx(0.03125)
    assert least_units() == 6 and least_units(0.01) == 8
    assert sign_flip_p([1, 2, 3]) == smallest_p(3)
    with pytest.raises(ValueError, match="unknown test 'wilcoxon'; valid: sign_flip"):
        smallest_p(3, "wilcoxon")


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist())


def _rates_table() -> pd.DataFrame:
    """Two arms at the same three rates and two seeds, at two depths per (rate, seed)."""
    rows = []
    for lr, seed, depth in itertools.product([0.01, 0.1, 1.0], [0, 1], [4, 8]):
        base = 0.6 + 0.1 * seed + 0.01 * depth
        rows.append({"arm": "x", "lr": lr, "seed": seed, "depth": depth, "test_acc": base + 0.05})
        rows.append({"arm": "y", "lr": lr, "seed": seed, "depth": depth, "test_acc": base})
    return pd.DataFrame(rows)


def test_paired_on_rate_seed_units():
    df = _rates_table()
    df.loc[(df["arm"] == "x") & (df["lr"] == 1.0) & (df["seed"] == 1), "test_acc"] += 0.1
    est = paired_on_units(df, "arm", "x", "y", ["lr", "seed"], strata=["depth"])
    assert est.unit == "(rate, seed) pairs" and est.n == 6  # depths averaged in each pair
    assert est.mean == pytest.approx(0.05 + 0.1 / 6)
    assert est.p == pytest.approx(2 / 2**6) and est.compare() == "higher"
    shuffled = df.sample(frac=1, random_state=3)
    assert paired_on_units(shuffled, "arm", "x", "y", strata=["depth"]) == est


def test_paired_on_units_counts_runs_without_a_partner():
    df = _rates_table()
    df = df[~((df["arm"] == "y") & (df["lr"] == 1.0))]  # y never ran the top rate
    est = paired_on_units(df, "arm", "x", "y", ["lr", "seed"], strata=["depth"])
    assert est.n == 4 and est.dropped == {"no partner": 4}
    assert est.dropped_note() == "4 pairs left out (no partner 4)"
    with pytest.raises(ValueError, match=r"\['rate'\] are not in the table"):
        paired_on_units(df, "arm", "x", "y", ["rate", "seed"])


def test_paired_per_seed_averages_other_axes_within_seed():
    df = _rates_table()[lambda d: d["lr"] == 0.1]
    df.loc[(df["arm"] == "x") & (df["seed"] == 0), "test_acc"] -= 0.02
    est = paired_per_seed(df, "arm", "x", "y", within=["depth"])
    assert est.unit == "seeds" and est.n == 2  # two depths of one seed are one unit
    assert est.mean == pytest.approx(np.mean([0.03, 0.05]))
    assert est.p == 0.5


def test_a_stratum_can_exclude_zero_while_the_pool_spans_it():
    rng = np.random.default_rng(5)
    plain = _grid(rng, 8, 2, -0.06).assign(arch="plain")
    resnet = _grid(rng, 8, 2, 0.04).assign(arch="resnet", cell=lambda d: d["cell"] + 100)
    df = pd.concat([plain, resnet])
    pooled = paired_diff(df, "arm", "a", "b", ["arch", "cell", "seed"])
    per = paired_by_stratum(df, "arch", "arm", "a", "b", ["arch", "cell", "seed"])
    assert pooled.compare() == "overlap"
    assert per["plain"].compare() == "lower" and per["resnet"].compare() == "higher"
    raw = [paired_diff(g, "arm", "a", "b", ["cell", "seed"]).p for g in (plain, resnet)]
    assert [per["plain"].p, per["resnet"].p] == pytest.approx(holm(raw))


def test_level_means_and_overlap():
    df = pd.DataFrame(
        {
            "act": ["relu"] * 5 + ["tanh"] * 5,
            "test_acc": [0.9, 0.91, 0.92, 0.9, 0.91, 0.5, 0.52, 0.51, 0.5, 0.49],
        }
    )
    means = level_means(df, "act").set_index("act")
    assert means.loc["relu", "mean"] == pytest.approx(0.908)
    assert means.loc["tanh", "n"] == 5
    a, b = mean_ci(df["test_acc"][:5]), mean_ci(df["test_acc"][5:])
    assert not intervals_overlap(a, b) and intervals_overlap(a, a)


def test_accuracy_intervals_stay_in_their_range_and_visibly_wide():
    acc = pd.Series([0.084, 0.964], name="test_acc")
    est = mean_ci(acc)
    assert (est.lo, est.hi) == (0.0, 1.0) and est.mean == pytest.approx(0.524)
    assert est.fmt() == "0.524 [0.000, 1.000]"
    assert mean_ci(acc.rename("loss")).lo < 0  # other metrics keep their t-interval
    assert mean_ci([0.084, 0.964], bounds=(0.0, 1.0)).lo == 0.0


def test_accuracy_differences_are_cut_to_plus_minus_one():
    a = pd.Series([0.95, 0.1, 0.9], name="test_acc")
    b = pd.Series([0.1, 0.1, 0.1], name="test_acc")
    diff = diff_of_means(a, b)
    assert diff.lo >= -1 and diff.hi <= 1 and diff.hi == 1.0
    assert diff.mean == pytest.approx(0.55) and diff.p == diff_of_means(a.values, b.values).p
    assert diff_of_means(a.values, b.values).hi > 1  # unnamed values are not bounded
    df = pd.DataFrame(
        {
            "arm": ["x", "y"] * 2,
            "seed": [0, 0, 1, 1],
            "test_acc": [0.95, 0.1, 0.15, 0.1],
        }
    )
    assert paired_diff(df, "arm", "x", "y", ["seed"]).lo == -1.0


def test_paired_units_test_one_difference_per_unit_by_sign_flip():
    from ablate.analysis.paired import paired_units

    three = paired_units([-2000.0, -1500.0, -3000.0], "rates")
    assert three.unit == "rates" and three.n == 3 and three.p == 0.25  # 2 / 2**3: undecidable
    six = paired_units([0.01, 0.02, 0.015, 0.03, 0.01, 0.02], "seeds")
    assert six.p < 0.05 and six.lo > 0


def test_the_paired_interval_inverts_the_sign_flip_test():
    from ablate.analysis.paired import paired_units
    from ablate.analysis.significance import sign_flip_ci

    rng = np.random.default_rng(11)
    for i in range(300):
        n = 6 + i % 7
        x = rng.normal(0.01 * (i % 4), 0.02, n) * rng.choice([1, 10], n)  # some skewed
        lo, hi = sign_flip_ci(x)
        assert lo <= x.mean() <= hi
        # 0 lies outside the interval exactly when the test rejects "centred on 0"
        assert (lo > 0 or hi < 0) == (sign_flip_p(x) < 0.05), x
    # Six units of one sign, one far out: the t-interval spans 0, the exact test (p = 2/64)
    # and its interval do not, so the two never contradict each other.
    skewed = [0.78, 0.01, 0.02, 0.55, 0.1, 0.1]
    assert mean_ci(skewed).lo < 0 < paired_units(skewed, "seeds").lo
    assert paired_units(skewed, "seeds").compare() == "higher"
    assert np.isnan(sign_flip_ci([0.1, 0.2, 0.3, 0.4, 0.5])).all()  # 5 units: no p < 0.05


def test_noninferiority_p_rejects_exactly_where_the_interval_clears_the_margin():
    from ablate.analysis.paired import noninferiority_p

    diffs = [-0.004, -0.001, 0.0, -0.003, 0.001, -0.002, -0.001]
    df = pd.DataFrame(
        {
            "arm": ["a"] * 7 + ["b"] * 7,
            "seed": list(range(7)) * 2,
            "test_acc": [0.97 + d for d in diffs] + [0.97] * 7,
        }
    )
    est = paired_diff(df, "arm", "a", "b", ["seed"])
    assert est.p > 0.05  # no difference is resolved ...
    assert noninferiority_p(df, "arm", "a", "b", ["seed"], 0.0075) < 0.05  # ... nor a loss
    assert est.lo > -0.0075
    assert noninferiority_p(df, "arm", "a", "b", ["seed"], 0.001) >= 0.05  # too tight
