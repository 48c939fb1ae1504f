"""W&B offline: one W&B run per training run, each with its config and final summary."""

from __future__ import annotations

from pathlib import Path

from ablate.training import tracking
from ablate.training.run import run
from ablate.training.tracking import cell_key


def test_two_offline_runs_in_one_process_write_two_run_folders(
    make_cfg, tmp_path, monkeypatch, capfd
):
    monkeypatch.chdir(tmp_path)
    seen: list[dict] = []
    original = tracking.close

    def spy(wandb_run):  # what W&B holds for the run just before it is closed
        seen.append(
            {
                "config": dict(wandb_run.config),
                "group": wandb_run.group,
                "job_type": wandb_run.job_type,
                "tags": list(wandb_run.tags),
                "summary": {k: wandb_run.summary.get(k) for k in ("test_acc", "status")},
            }
        )
        original(wandb_run)

    monkeypatch.setattr(tracking, "close", spy)
    results = [
        run(make_cfg("wandb=offline", "seed=0", f"model.activation={a}")) for a in ("relu", "tanh")
    ]
    folders = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(folders) == 2 and all(list(f.glob("run-*.wandb")) for f in folders)
    assert [s["config"]["model"]["activation"] for s in seen] == ["relu", "tanh"]
    for record, result in zip(seen, results, strict=True):
        assert record["summary"] == {"test_acc": result["test_acc"], "status": "ok"}
        assert record["job_type"] == "adhoc" and record["group"].startswith("adhoc/")
        assert f"activation={record['config']['model']['activation']}" in record["tags"]
    assert seen[0]["group"] != seen[1]["group"]  # different cells, different groups
    printed = capfd.readouterr()
    assert "anonymous" not in printed.out + printed.err  # no deprecated W&B setting is passed


def test_seeds_share_a_cell_but_axes_do_not(make_cfg):
    assert cell_key(make_cfg("seed=0")) == cell_key(make_cfg("seed=1"))
    assert cell_key(make_cfg("model.activation=tanh")) != cell_key(make_cfg())


def test_disabled_writes_nothing(make_cfg, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(make_cfg("wandb=disabled"))
    assert not (tmp_path / "wandb").exists()
