"""The CPU benchmark's page: its layout table is computed from the measured step times."""

from ablate.bench.cpu import LAYOUTS, render


def test_render_prints_layout_step_times_and_their_ratio():
    compare = dict.fromkeys(
        ["fit_ratio", "run_ratio", "lightning_fit_s", "plain_fit_s", "overhead_s"], 1.0
    )
    compare |= {"images_per_s": 1000.0, "gflops": 10.0, "matmul_gflops": 80.0}
    bench = {
        "machine": "x86_64",
        "torch": "2",
        "threads": 1,
        "reps": 3,
        "compare": compare,
        "overhead_probes_s": 0.2,
        "wandb_offline_s": 0.1,
        "smoke": {"runs_per_min": 100.0},
        "cpu": {"runs_per_min": 10.0},
        "noop_repro_s": None,
        "scaling": {},
        "layouts": {"cell a": {"NCHW fp32": 12.0, "NHWC fp32": 8.0, "NHWC bf16": 6.0}},
    }
    text = render(bench)
    assert "| cell | " + " | ".join(LAYOUTS) in text
    assert "| cell a | 12.0 | 8.0 | 6.0 | 1.50 |" in text


def test_the_plain_loop_trains_the_runs_step_budget(tmp_path):
    from ablate.bench.cpu import _cfg, plain_loop

    cfg = _cfg(tmp_path / "runs", "profile=smoke", "trainer.max_steps=7", "model.stages=2")
    assert plain_loop(cfg)["steps"] == 7  # the same work as a run, not max_epochs of it


def test_noop_repro_runs_nothing_where_the_pipeline_has_work(tmp_path, monkeypatch):
    import os
    import stat

    from ablate.bench.cpu import noop_repro

    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "dvc"  # records its arguments; status says "not up to date"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = status ] && exit 1\nexit 0\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "dvc.lock").write_text("")
    assert noop_repro(reps=2, repo=tmp_path) is None
    assert calls.read_text().split("\n")[:-1] == ["status --quiet"]  # no repro ran
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 0\n')  # now up to date
    assert noop_repro(reps=2, repo=tmp_path) is not None
    assert calls.read_text().count("repro") == 2
