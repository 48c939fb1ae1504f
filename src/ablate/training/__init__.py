"""Training: the LightningModule, run keys, the run lifecycle and the Hydra entry point."""
