"""Discoverability and progress: the choices listing and the per-run progress line."""

from __future__ import annotations

import re

from ablate.choices import describe
from ablate.models import ACTIVATIONS, ARCHITECTURES
from ablate.training import progress


def test_choices_lists_every_registry_value_and_study():
    text = describe()
    for name in [*ACTIVATIONS.names(), *ARCHITECTURES.names()]:
        assert name in text
    assert re.search(r"depth_init\s+answers W1\b", text)
    assert "model.depth = 2,20" in text and "cpu, gpu, smoke" in text


def test_choices_lists_the_grids_the_profile_runs():
    smoke, cpu = describe("smoke"), describe("cpu")
    assert "Studies as profile `smoke` runs them" in smoke
    main = smoke.split("  main ", 1)[1].split("\n  ", 1)[0]
    assert "1 seed(s) per cell" in main  # the smoke profile's seeds, not the study file's
    assert "model.downsampling = maxpool,strided_conv" in smoke  # its levels, not main.yaml's
    assert "model.activation = sigmoid,tanh,relu\n" in cpu and "_template" not in cpu


def test_progress_line_has_counter_cell_status_accuracy_and_eta(make_cfg, monkeypatch, tmp_path):
    cfg = make_cfg("model.activation=tanh")
    monkeypatch.setattr(progress, "job_number", lambda: 4)
    phase = tmp_path / "phase.json"
    monkeypatch.setenv(progress.PHASE_ENV, str(phase))
    progress.write_phase(phase, 10, start=1000.0)
    result = {"key": "abc123", "status": "ok", "test_acc": 0.91234, "wall_time_s": 2.5}
    line = progress.line(cfg, result, now=1050.0)
    assert line.startswith("[5/10] ok adhoc/abc123 activation=tanh ")
    assert "acc=0.912 2.5s" in line
    assert line.endswith("eta 0.8 min")  # 50 s for 5 runs -> 50 s for the other 5
    skipped = progress.line(cfg, {"key": "abc123", "status": "ok", "skipped": True})
    assert skipped == "[5/10] skip adhoc/abc123 (finished)"
    progress.write_phase(phase, 20, start=1000.0)  # the next phase, same worker process
    assert progress.line(cfg, result, now=1050.0).startswith("[5/20] ")


def test_quiet_prints_nothing(make_cfg, capsys):
    progress.report(make_cfg("quiet=true"), {"key": "k", "status": "ok", "wall_time_s": 1.0})
    assert capsys.readouterr().err == ""
