"""The code fingerprint: a hash of everything that can change a run's numbers.

Rule: every `.py` file under the package folders `data/`, `models/`, `training/` and
`probes/` (their bytes, path-sorted), the torch version and the device type. Files there
that only print or log (`NUMBERLESS`) are left out, as is everything else: analysis,
report, CLI, configs (those are keyed field by field) and docs. A change in scope
retrains on the next sweep; a change out of scope retrains nothing.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

import torch

PACKAGE = Path(__file__).resolve().parents[1]  # src/ablate, wherever it is imported from
SCOPE = ("data", "models", "training", "probes")
NUMBERLESS = {"training/progress.py", "training/tracking.py"}  # progress lines, W&B logging


def source_files(package: Path = PACKAGE) -> list[Path]:
    """The files the fingerprint hashes, sorted by their path inside the package."""
    files = [f for folder in SCOPE for f in (package / folder).rglob("*.py")]
    return sorted(
        (f for f in files if f.relative_to(package).as_posix() not in NUMBERLESS),
        key=lambda f: f.relative_to(package).as_posix(),
    )


@functools.cache
def code_fingerprint(device: str, package: Path = PACKAGE) -> str:
    """A 12-hex fingerprint of the scoped source, torch's version and `device` (cpu | cuda)."""
    digest = hashlib.sha256()
    for path in source_files(package):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(f"torch={torch.__version__};device={device}".encode())
    return digest.hexdigest()[:12]


def device_type(accelerator: str) -> str:
    """The device a run trains on: `cuda` only when a GPU is asked for and present."""
    return "cuda" if accelerator in ("gpu", "cuda") and torch.cuda.is_available() else "cpu"


@functools.cache
def git_state(cwd: str = ".") -> str:
    """The commit a run was trained at, exact: `<sha>` or `<sha>+<n> changed` where n files
    under the fingerprint's scope differ from that commit; `unknown` outside git."""
    try:
        sha = _git(cwd, "rev-parse", "--short=10", "HEAD")
        scoped = [str(PACKAGE / folder) for folder in SCOPE]
        changed = _git(cwd, "status", "--porcelain", "--untracked-files=no", "--", *scoped)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    count = len(changed.splitlines())
    return f"{sha}+{count} changed" if count else sha


def _git(cwd: str, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()
