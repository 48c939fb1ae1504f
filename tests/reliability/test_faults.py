"""Fault injection: kill -9 mid-sweep, interrupted writes, concurrent sweeps, bad input.
Each test really does the fault and checks that nothing finished is lost or duplicated."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ablate.io import atomic_write_text, clean_stale_temps

from ..conftest import REPO

SLOW = ["profile=smoke", "trainer.max_epochs=40", "trainer.threads=1"]  # seconds per run
GRID = ["model.activation=relu,tanh,sigmoid", "model.norm=none,batch"]


def sweep(tmp: Path, data_root: Path, *args: str, **kw) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "ablate.train",
        "-m",
        *SLOW,
        f"runs_dir={tmp}",
        f"data.root={data_root}",
        *args,
    ]
    return subprocess.Popen(
        cmd,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kw,
    )


def results(root: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in root.glob("adhoc/*/result.json")}


def leftovers(root: Path) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.name.startswith(".") and (".tmp" in p.name or ".claim" in p.name)
    ]


def test_kill_9_mid_run_loses_nothing_and_resumes(tmp_path: Path, data_root: Path):
    proc = sweep(tmp_path, data_root, *GRID)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # wait until 2 runs finished and a third is underway
        if len(results(tmp_path)) >= 2 and leftovers(tmp_path):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = results(tmp_path)
    assert 2 <= len(before) < 6
    rerun = sweep(tmp_path, data_root, *GRID)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    after = results(tmp_path)
    assert len(after) == 6  # the whole grid, each key once
    assert all(after[k] == v for k, v in before.items())  # finished runs: same bytes
    assert leftovers(tmp_path) == []


def test_interrupted_write_keeps_the_old_file_and_its_temp_is_cleaned(tmp_path: Path):
    target = tmp_path / "runs.csv"
    atomic_write_text(target, "old,complete\n")
    code = (
        "import os, time\n"
        "from pathlib import Path\n"
        "from ablate import io\n"
        "os.replace = lambda *a: time.sleep(60)\n"  # stall between the write and the rename
        f"io.atomic_write_text(Path({str(target)!r}), 'new,' * 100000)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".runs.csv.*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert target.read_text() == "old,complete\n"
    assert list(tmp_path.glob(".runs.csv.*"))  # the killed writer's temp file...
    clean_stale_temps(tmp_path)
    assert not list(tmp_path.glob(".runs.csv.*"))  # ...is removed by the next writer
    assert target.read_text() == "old,complete\n"


def test_two_sweeps_at_once_train_each_key_once(tmp_path: Path, data_root: Path):
    a = sweep(tmp_path, data_root, "model.activation=relu,tanh", "model.norm=none,batch")
    b = sweep(tmp_path, data_root, "model.activation=tanh,relu", "model.norm=batch,none")
    outs = [p.communicate(timeout=300) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, outs
    done = re.compile(r"\] (?:ok|diverged|failed|timeout) (\S+)")
    trained = [m[1] for _, err in outs for m in done.finditer(err)]
    assert len(trained) == len(set(trained)) == 4  # every key trained by exactly one sweep
    assert len(results(tmp_path)) == 4
    for blob in results(tmp_path).values():
        assert json.loads(blob)["status"] == "ok"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("profile=laptop", "Available options in 'profile'"),
        ("study=nope", "Available options in 'study'"),
        ("data=nope", "Available options in 'data'"),
    ],
)
def test_unknown_group_choice_lists_valid_ones(tmp_path: Path, override: str, message: str):
    proc = subprocess.run(
        [sys.executable, "-m", "ablate.train", override, f"runs_dir={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and message in proc.stderr
    assert not any(tmp_path.rglob("result.json"))


def test_unwritable_results_folder_is_a_clear_error(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("profile: smoke\nstudies: [main]\n")
    (tmp_path / "results").write_text("a file where the results folder should be")
    proc = subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "aggregate.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "error: cannot write results/smoke/runs.csv" in proc.stderr


def test_sigterm_to_a_multirun_stops_its_workers(tmp_path: Path, data_root: Path):
    # `timeout` signals the main process only; its joblib workers must not train on.
    proc = sweep(
        tmp_path,
        data_root,
        "hydra/launcher=local",
        "profile.jobs=2",
        "trainer.max_steps=1000000",  # longer than the test: only the signal ends it
        "model.activation=relu,tanh",
    )
    try:
        deadline = time.monotonic() + 120
        claims: list[Path] = []
        while not claims and time.monotonic() < deadline and proc.poll() is None:
            claims = list(tmp_path.glob("adhoc/.*.claim"))
            time.sleep(0.05)
        assert claims, "no run started"
        time.sleep(0.5)  # the claim file gets its pid right after it is created
        worker = int(claims[0].read_text())
        assert worker != proc.pid  # trained in a worker process
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while pid_running(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_running(worker)
        assert results(tmp_path) == {}  # nothing half-trained was recorded as a result
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the process group


def pid_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
