"""The same smoke grid through Hydra's basic, joblib and submitit_local launchers gives the
same run keys and the same metrics: runs are keyed and seeded, not launcher-dependent."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ablate.sweep.grid import study_grid

from .conftest import REPO

GRID = ["profile=smoke", "study=main", "trainer.threads=1", "quiet=true", "optim.lr=0.1"]
# The pipeline applies the profile's grid; a hand multirun passes it on the command line.
SMOKE = [f"{k}={v}" for k, v in study_grid("smoke", "main", None).items()]


def sweep(root: Path, data_root: Path, *launcher: str, env: dict | None = None) -> dict[str, dict]:
    cmd = [
        sys.executable,
        "-m",
        "ablate.train",
        "-m",
        *GRID,
        *SMOKE,
        f"runs_dir={root}",
        f"data.root={data_root}",
        *launcher,
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {p.parent.name: json.loads(p.read_text()) for p in root.glob("main/*/result.json")}


@pytest.fixture(scope="module")
def basic(tmp_path_factory, data_root) -> dict[str, dict]:
    return sweep(tmp_path_factory.mktemp("basic"), data_root)


def assert_same_runs(other: dict[str, dict], basic: dict[str, dict]) -> None:
    assert set(other) == set(basic) and len(basic) == 4
    for key, result in other.items():
        for metric in ("test_acc", "test_loss", "val_acc", "steps"):
            assert result[metric] == basic[key][metric], (key, metric)


@pytest.mark.parametrize(
    "launcher",
    [
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        [
            "hydra/launcher=submitit_local",
            "hydra.launcher.tasks_per_node=1",
            "hydra.launcher.timeout_min=10",
        ],
    ],
    ids=["joblib", "submitit_local"],
)
def test_launcher_matches_basic(basic, tmp_path: Path, data_root: Path, launcher: list[str]):
    assert_same_runs(sweep(tmp_path, data_root, *launcher), basic)


def test_slurm_launcher_config_composes():
    from ablate.config import compose

    cfg = compose(
        ["study=main", "hydra/launcher=cluster_slurm", "hydra.launcher.partition=gpu"],
        with_hydra=True,
    )
    launcher = cfg.hydra.launcher
    assert launcher.partition == "gpu" and launcher.gpus_per_node == 1
    assert "submitit" in launcher._target_.lower()


HAS_RAY = importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def ray_head() -> Iterator[str]:
    """A one-node Ray cluster on 127.0.0.1, stopped with its whole process group after."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths
    cmd = [
        str(Path(sys.executable).parent / "ray"),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=2",
        "--num-gpus=0",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp}",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",  # stop at once on SIGTERM
    }
    head = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while not listening(port):
            assert head.poll() is None and time.time() < deadline, "Ray did not start"
            time.sleep(0.5)
        yield address
    finally:
        if head.poll() is None:
            os.killpg(head.pid, signal.SIGTERM)  # ray start --block stops what it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.skipif(
    not HAS_RAY, reason="hydra-ray-launcher is not installed (pip install -e '.[ray]')"
)
def test_ray_launcher_matches_basic(basic, ray_head: str, tmp_path: Path, data_root: Path):
    launcher = [
        "hydra/launcher=cluster_ray",
        "hydra.launcher.ray.remote.num_cpus=1",
        "hydra.launcher.ray.remote.num_gpus=0",
    ]
    env = {**os.environ, "RAY_ADDRESS": ray_head, "RAY_USAGE_STATS_ENABLED": "0"}
    assert_same_runs(sweep(tmp_path / "runs", data_root, *launcher, env=env), basic)
