"""The gpu profile's code path end to end on CPU: `dvc repro` with `profile: gpu`, shrunk by
params.yaml's `overrides` to seconds. CIFAR-10 comes from a tiny archive in the canonical
binary format served on 127.0.0.1; the learning rate is swept as a nuisance; two jobs run
at once; channels-last is on. Only the accelerator (and the sizes) differ from a GPU run."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ablate.analysis.tuning import select_best_lr

from .data.test_cifar import Server, make_archive
from .repo_copy import copy_repo, report_text, repro_ok

CELL_AXES = ["activation", "init", "norm", "downsampling", "arch"]
RATES = (0.001, 0.1)


@pytest.fixture(scope="module")
def cifar() -> Iterator[tuple[str, str]]:
    blob, _ = make_archive(n_train=40, n_test=20)  # 180 train, 20 val, 20 test images
    server = Server({"cifar-10-binary.tar.gz": blob})
    yield f"{server.url}/cifar-10-binary.tar.gz", hashlib.sha256(blob).hexdigest()
    server.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, cifar: tuple[str, str]) -> Path:
    url, sha256 = cifar
    overrides = [
        "trainer.accelerator=cpu",
        f"data.url={url}",
        f"data.sha256={sha256}",
        "model.activation=relu,tanh",  # the gpu grid's own axes, at fewer levels
        f"optim.lr={','.join(map(str, RATES))}",
        "model.init=kaiming",
        "model.norm=batch",
        "model.downsampling=maxpool",
        "model.arch=plain",
        "model.width=8",
        "trainer.max_epochs=2",
        "trainer.threads=1",
        "profile.jobs=2",
        "profile.control_seeds=1",  # the control cell is in the grid: no extra seeds
    ]
    root = tmp_path_factory.mktemp("gpu") / "repo"
    return copy_repo(root, profile="gpu", studies=["main"], seeds=1, overrides=overrides)


@pytest.fixture(scope="module")
def repro(project: Path) -> subprocess.CompletedProcess[str]:
    return repro_ok(project)


def test_runs_train_cifar_with_the_gpu_settings(project: Path, repro):
    results = [json.loads(p.read_text()) for p in (project / "runs" / "main").glob("*/result.json")]
    assert len(results) == 4 and {r["status"] for r in results} == {"ok"}
    for result in results:
        cfg = result["config"]
        assert cfg["profile"]["name"] == "gpu" and cfg["data"]["name"] == "cifar10"
        assert cfg["trainer"]["channels_last"] and not cfg["trainer"]["deterministic"]
        assert cfg["trainer"]["accelerator"] == "cpu" and cfg["data"]["batch_size"] == 128
        assert result["classes"] == 10
    assert {r["config"]["optim"]["lr"] for r in results} == set(RATES)
    assert "Joblib.Parallel(n_jobs=2" in repro.stdout + repro.stderr  # two jobs at once


def test_report_keeps_the_best_validated_rate_of_each_cell(project: Path, repro):
    runs = pd.read_csv(project / "results" / "gpu" / "runs.csv")
    assert set(runs["dataset"]) == {"cifar10"} and len(runs) == 4
    kept = select_best_lr(runs[runs["status"] == "ok"], CELL_AXES)
    assert len(kept) == 2 and kept["activation"].nunique() == 2  # one rate per cell
    report = report_text(project / "reports" / "gpu")
    assert "profile | gpu" in report.replace("`", "")
    assert "The learning rate is tuned per grid cell on validation accuracy." in report


def test_report_names_the_kept_rate_of_each_cell(project: Path, repro):
    runs = pd.read_csv(project / "results" / "gpu" / "runs.csv")
    kept = select_best_lr(runs[runs["status"] == "ok"], CELL_AXES)
    rows = report_text(project / "reports" / "gpu").splitlines()
    for _, cell in kept.iterrows():
        cells = [f"| {cell['activation']} |", f"| {cell['lr']:g} |"]
        assert any(all(c in row for c in cells) for row in rows), cell[["activation", "lr"]]
