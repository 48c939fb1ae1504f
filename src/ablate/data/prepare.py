"""Fixed, seeded train/val/test splits, cached as one array file per dataset with its hash.

The cache file name carries a hash of everything that shapes the split, so changing the
split settings prepares a new file instead of silently reusing a stale one.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ablate.data.sources import SOURCES
from ablate.errors import DataError
from ablate.io import atomic_write_bytes, atomic_write_text

SPLIT_FIELDS = ("name", "val_fraction", "test_fraction", "split_seed", "path", "url", "sha256")


@dataclass
class Prepared:
    x: np.ndarray  # uint8 (N, H, W, C)
    y: np.ndarray
    splits: dict[str, np.ndarray]  # train/val/test -> indices into x
    classes: list[str]
    data_hash: str


def _folder_fingerprint(path: str | None) -> str | None:
    """Names, sizes and times of an image folder's files: adding or editing an image
    prepares a new cache instead of reusing a stale one."""
    if not path or not Path(path).is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _split_settings(cfg: Any) -> dict[str, Any]:
    settings = {name: getattr(cfg, name) for name in SPLIT_FIELDS}
    if cfg.name == "imagefolder":
        settings["content"] = _folder_fingerprint(cfg.path)
    return settings


def cache_path(cfg: Any) -> Path:
    digest = hashlib.sha256(json.dumps(_split_settings(cfg), sort_keys=True).encode())
    return Path(cfg.root) / "prepared" / f"{cfg.name}-{digest.hexdigest()[:10]}.npz"


def split_indices(
    y: np.ndarray, val_fraction: float, test_fraction: float, seed: int, n_test: int = 0
) -> dict[str, np.ndarray]:
    """Shuffle once with `seed` and cut; with `n_test` > 0 the last n_test form the test set."""
    rng = np.random.default_rng(seed)
    pool = rng.permutation(len(y) - n_test)
    if n_test:
        test = np.arange(len(y) - n_test, len(y))
    else:
        n = round(len(pool) * test_fraction)
        test, pool = pool[:n], pool[n:]
    n_val = round(len(pool) * val_fraction)
    return {"train": pool[n_val:], "val": pool[:n_val], "test": test}


def _hash_arrays(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()[:16]


def prepare(cfg: Any) -> Path:
    """Build the cached split file for data config `cfg` unless it exists; return its path."""
    path = cache_path(cfg)
    if path.exists():
        return path
    images = SOURCES[cfg.name](root=cfg.root, path=cfg.path, url=cfg.url, sha256=cfg.sha256)
    x, y, n_test = images.x, images.y, 0
    if images.test is not None:
        x = np.concatenate([x, images.test[0]])
        y = np.concatenate([y, images.test[1]])
        n_test = len(images.test[1])
    splits = split_indices(y, cfg.val_fraction, cfg.test_fraction, cfg.split_seed, n_test)
    if min(len(s) for s in splits.values()) == 0:
        raise DataError(f"dataset {cfg.name!r} of {len(y)} images is too small to split: {cfg}")
    arrays = {"x": x, "y": y, **{f"idx_{k}": v for k, v in splits.items()}}
    data_hash = _hash_arrays(arrays)
    meta = {"classes": images.classes, "data_hash": data_hash, "settings": _split_settings(cfg)}
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    atomic_write_bytes(path, buffer.getvalue())
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=2))
    return path


def load(cfg: Any) -> Prepared:
    """Load (preparing first if needed) the split arrays for data config `cfg`."""
    path = prepare(cfg)
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(f["meta"].tobytes())
        splits = {k: f[f"idx_{k}"] for k in ("train", "val", "test")}
        return Prepared(f["x"], f["y"], splits, meta["classes"], meta["data_hash"])
