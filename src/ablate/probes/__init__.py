"""Probes: Lightning callbacks that measure what the questions need, at chosen steps only."""
