"""Atomic file writes and their cleanup: a reader sees the old file or the new one, never
half of one, and the temporary files of a killed writer are removed by the next one."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from ablate.errors import OutputError

# Temporary names carry the writer's pid: `.<name>.<pid>.<random>.tmp` for files,
# `.<key>.tmp-<pid>` for run folders and `.<key>.claim` (pid inside) for claimed runs.
TEMP_FILE = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")
TEMP_DIR = re.compile(r"^\..+\.tmp-(\d+)$")


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
        )
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def clean_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporary files, run folders and claims of writers that no longer run."""
    removed: list[Path] = []
    if not Path(folder).is_dir():
        return removed
    for entry in Path(folder).iterdir():
        if not entry.name.startswith("."):
            continue
        match = TEMP_FILE.match(entry.name) or TEMP_DIR.match(entry.name)
        pid = int(match[1]) if match else None
        if entry.name.endswith(".claim"):
            try:
                pid = int(entry.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
        if pid is None or pid_alive(pid):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
