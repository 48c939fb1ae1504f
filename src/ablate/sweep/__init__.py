"""Sweep: params.yaml's knobs, a study's grid as the profile sizes it, its per-arm rate search,
run as a Hydra multirun."""
