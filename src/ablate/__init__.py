"""Reproducible ablations of CNN design choices. Code map, in the order data flows:

    config, registry,  the run schema and its checks, registries by name, input errors,
    errors, io         atomic writes: what every stage below stands on
    data/              fetch a source, prepare fixed splits as cached arrays, serve tensors
    models/            registries of activations, inits, norms, downsampling, reductions;
                       the architectures built from them
    probes/            what the questions measure beyond accuracy: callbacks at chosen
                       steps of a run, and the activations' op cost
    training/          one run: Lightning module, run key and code fingerprint, lifecycle
                       (`python -m ablate.train`); the stacked trainer (`stacked_cli`)
    sweep/             params.yaml, a study's grid as a Hydra multirun, its rate search
    analysis/          run folders -> one table; statistics; `rules/`: the verdict rules
    report/            the table -> reports/report.md, one module per notes section
    bench/             how fast it trains (CPU, GPU), how long a grid would take
    cli, choices,      shared command-line behaviour and the entry points
    train

A question ID leads in two hops to its code. Its letter names its notes section (C
convolution, A activations, D preprocessing, W init, B batchnorm, T practice); then:
  - the studies that answer it list it under `study.questions` in `conf/study/*.yaml`;
  - its rule is `analysis/rules/<section>.py`, function `<id>_<claim>` (e.g. `c1_bottleneck`);
  - its report text is `report/<section>.py`, function `<id>` (e.g. `c1`, listed in
    `report/render.BUILDERS`).
"""
