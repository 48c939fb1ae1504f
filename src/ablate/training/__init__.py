"""Training: the LightningModule, run keys, the run lifecycle and the Hydra entry point; the
stacked trainer (several same-shape runs in one process, a GPU option)."""
