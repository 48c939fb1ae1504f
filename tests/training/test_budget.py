"""Step budgets: the warm-up/cosine schedule, the early stops, and their records."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from ablate.training.callbacks import EarlyStop
from ablate.training.module import schedule
from ablate.training.run import run


def test_warmup_then_cosine_to_zero():
    factor = schedule("warmup_cosine", total=100, warmup=0.1)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.5, abs=0.01)
    assert factor(100) == pytest.approx(0.0, abs=1e-9)
    assert all(factor(s) >= factor(s + 1) for s in range(10, 100))
    assert schedule("constant", 100, 0.1)(77) == 1.0


class Trainer(SimpleNamespace):
    should_stop = False


def feed(stop: EarlyStop, losses: list[float], every: int = 10) -> Trainer:
    module = SimpleNamespace(history=[])
    trainer = Trainer(global_step=0)
    for i, loss in enumerate(losses):
        module.history.append({"step": i * every, "train_loss": loss})
        trainer.global_step = (i + 1) * every
        stop.on_train_batch_end(trainer, module)
        if trainer.should_stop:
            break
    return trainer


def test_a_run_that_never_leaves_ln_classes_is_stalled():
    stop = EarlyStop(classes=10, stall_steps=100, margin=0.03, converge_loss=0.0)
    trainer = feed(stop, [math.log(10)] * 30)
    assert trainer.should_stop and stop.reason == "stalled" and trainer.global_step == 100


def test_a_run_that_learned_then_wobbled_is_not_stalled():
    stop = EarlyStop(classes=10, stall_steps=100, margin=0.03, converge_loss=0.0)
    losses = [2.3] * 3 + [1.0] * 6 + [2.3] * 20  # learned, then became unstable
    trainer = feed(stop, losses)
    assert not trainer.should_stop and stop.reason is None


def test_converged_stops_when_the_loss_is_under_the_bar():
    stop = EarlyStop(classes=10, stall_steps=0, margin=0.03, converge_loss=0.01)
    trainer = feed(stop, [1.0, 0.5, 0.1, 0.01, 0.005, 0.004, 0.003, 0.002, 0.001, 0.001])
    assert trainer.should_stop and stop.reason == "converged"


def test_step_budget_and_stop_reason_are_recorded(make_cfg):
    ok = run(make_cfg("trainer.max_steps=7", "trainer.max_epochs=1", "probes.enabled=false"))
    assert ok["status"] == "ok" and ok["steps"] == 7 and ok["stopped"] is None
    assert 0 < ok["majority_acc"] < 1 and ok["test_classes_predicted"] >= 1
    stalled = run(
        make_cfg(
            "model.init=zeros",
            "model.norm=none",
            "trainer.max_steps=60",
            "trainer.stall_steps=20",
            "trainer.history_every=2",
            "probes.enabled=false",
        )
    )
    assert stalled["stopped"] == "stalled" and 20 <= stalled["steps"] < 60
    assert stalled["test_classes_predicted"] == 1  # a dead net predicts one class


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.schedule=linear", "optim.schedule='linear' is not valid"),
        ("optim.warmup=1.5", "optim.warmup=1.5 must be in"),
        ("trainer.max_steps=0", "trainer.max_steps=0 must be -1"),
        ("model.head=conv", "model.head='conv' is not valid; choose one of: gap, flatten"),
    ],
)
def test_bad_budget_values_are_named(make_cfg, override: str, message: str):
    from ablate.config import validate
    from ablate.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        validate(make_cfg(override))


def test_a_net_that_classifies_is_never_called_stalled():
    import torch

    class Perfect(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.one_hot(x[:, 0].long(), 10).float()

    labels = torch.arange(100) % 10
    data = SimpleNamespace(tensors={"val": (labels[:, None].float(), labels)})
    stop = EarlyStop(classes=10, stall_steps=10, margin=0.03, converge_loss=0.0)
    module = Perfect()
    module.history = []
    trainer = Trainer(global_step=0, datamodule=data)
    for i in range(10):
        module.history.append({"step": i, "train_loss": math.log(10)})
        trainer.global_step = 10 + i
        stop.on_train_batch_end(trainer, module)
    assert stop.reason is None and not trainer.should_stop
