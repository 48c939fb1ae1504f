"""A temporary copy of the repository to run the real pipeline in, and `dvc` run inside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .conftest import REPO

TOP_LEVEL_SKIP = {".venv", ".git", "runs", "data", "results", "reports", "dvc.lock", "wandb"}
ANYWHERE_SKIP = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info", "tmp", "cache"
)


def skip(folder: str, names: list[str]) -> set[str]:
    """What not to copy: outputs and environments at the top, caches anywhere."""
    skipped = set(ANYWHERE_SKIP(folder, names))
    if Path(folder) == REPO:
        skipped |= TOP_LEVEL_SKIP & set(names)
    return skipped


def copy_repo(root: Path, **params: Any) -> Path:
    """Copy the sources to `root`, set `params` in its params.yaml, and make it a git repo."""
    shutil.copytree(REPO, root, ignore=skip)
    settings = yaml.safe_load((root / "params.yaml").read_text())
    settings.update(params)
    (root / "params.yaml").write_text(yaml.safe_dump(settings))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def env(root: Path) -> dict[str, str]:
    """This interpreter's tools first, and the copy's code rather than the installed one."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(root / "src"),
    }


def dvc(root: Path, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["dvc", *args], cwd=root, env=env(root), capture_output=True, text=True, timeout=timeout
    )


def repro_ok(root: Path) -> subprocess.CompletedProcess[str]:
    """`dvc repro` in the copy; fails the test with the end of both logs if it fails."""
    proc = dvc(root, "repro")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def report_text(folder: Path) -> str:
    """Every file of a written report, report.md first: what a test reads as one text."""
    pages = sorted(folder.glob("*.md"), key=lambda p: (p.name != "report.md", p.name))
    return "\n\n".join(p.read_text() for p in pages)
