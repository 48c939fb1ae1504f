"""Shared fixtures: composed configs and a private runs/ and data/ per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from omegaconf import DictConfig

from ablate.config import compose

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("WANDB_MODE", "disabled")


# The files that run the real pipeline, longest first: collected first, so that with two
# workers (`make test`) they start at once while the other worker takes the fast tests.
SLOW_FIRST = (
    "test_pipeline_e2e.py",
    "test_code_changes.py",
    "test_dvc_experiment.py",
    "test_gpu_profile_e2e.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow files first, each file's tests kept together and in their order (a stable sort)."""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data cache for the session: preparing a split is deterministic, so it is shared."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def make_cfg(tmp_path: Path, data_root: Path):
    """Compose the smoke-profile config with overrides, writing under this test's tmp dir."""

    def make(*overrides: str) -> DictConfig:
        return compose(
            [
                "profile=smoke",
                f"runs_dir={tmp_path / 'runs'}",
                f"data.root={data_root}",
                *overrides,
            ]
        )

    return make
