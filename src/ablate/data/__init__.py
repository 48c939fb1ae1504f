"""Data: fetch sources, prepare fixed splits as cached arrays, serve them as tensors."""
