"""Benchmarks: how fast the project trains on a CPU (`cpu`) and on one GPU (`gpu`), and how
long a profile's whole grid would take (`projection`)."""
