"""Verdict rules, one module per notes section (as `report/`): explicit functions from
measured estimates to a verdict.

Each rule states the claim it tests and returns `supported`, `refuted`, `nuanced` (true only
under conditions it names) or `inconclusive` (a deciding interval spans zero). Rules take
estimates, not tables, so unit tests can reach every outcome with synthetic numbers. `common`
holds the verdict type and the helpers the sections share.
"""
