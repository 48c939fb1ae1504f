"""Synthetic estimates the rule tests share: clearly up, clearly down, undecided, and
accuracies well above, at and around chance."""

from ablate.analysis.stats import Estimate

UP = Estimate(0.05, 0.02, 0.08, 10)
DOWN = Estimate(-0.05, -0.08, -0.02, 10)
FLAT = Estimate(0.01, -0.02, 0.04, 10)
GOOD = Estimate(0.9, 0.88, 0.92, 10)
CHANCE_ACC = Estimate(0.1, 0.09, 0.11, 10)
WIDE = Estimate(0.2, 0.1, 0.3, 10)  # spans chance + 0.1
