"""How long a profile's whole grid takes: from measured throughput, or from FLOPs.

Two projections of the same grid, so a measured one can be checked against the arithmetic:
- measured: every run trains at the per-run rate of the best measured concurrency (runs in
  parallel share the GPU; their summed rate is what the grid gets), plus each run's fixed
  cost (data to the device, FLOP count, test) divided among the parallel slots;
- FLOPs: training images x 3 x forward FLOPs per image (forward + backward) over the
  accelerator's peak times a stated utilisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from omegaconf import OmegaConf

from ablate.config import compose
from ablate.sweep.grid import expand, study_grid

CIFAR10_TRAIN = 50_000  # images in CIFAR-10's official training batches (train + val here)
SHAPES = {"cifar10": (3, 32, 32), "mnist5k": (1, 28, 28), "digits": (1, 8, 8)}  # C, H, W


@dataclass(frozen=True)
class StudyCost:
    """What one study's grid costs, independent of the machine."""

    study: str
    jobs: int
    epochs: float  # mean over the jobs
    train_images: int  # per epoch
    flops_per_image: float  # forward, mean over the jobs

    @property
    def images(self) -> float:
        return self.jobs * self.epochs * self.train_images

    @property
    def train_flops(self) -> float:
        return 3 * self.flops_per_image * self.images  # backward costs about twice forward


@dataclass(frozen=True)
class Level:
    """One measured concurrency: `n` runs at once, each at its own images/s."""

    n: int
    per_run_images_s: tuple[float, ...]
    fixed_s: float  # per-run time outside fitting (median)

    @property
    def total_images_s(self) -> float:
        return sum(self.per_run_images_s)


def train_images(data: object, total: int = CIFAR10_TRAIN) -> int:
    """Training images per epoch after the validation cut and the profile's limit."""
    n = total - round(total * data.val_fraction)  # as prepare.split_indices cuts it
    return min(n, data.train_limit) if data.train_limit else n


def study_cost(profile: str, study: str, seeds: int | None = None) -> StudyCost:
    """Jobs, epochs, images and mean forward FLOPs of `study`'s grid under `profile`."""
    from ablate.models import build_model
    from ablate.models.flops import count_flops

    levels = expand(study_grid(profile, study, seeds))
    base = compose([f"profile={profile}", f"study={study}"])
    flops: dict[str, float] = {}
    epochs, images, job_flops = [], [], []
    for job in product(*[[(k, v) for v in vs] for k, vs in levels.items()]):
        cfg = base.copy()
        for key, value in job:
            OmegaConf.update(cfg, key, _value(value), merge=False)
        model = OmegaConf.to_yaml(cfg.model) + cfg.data.name
        if model not in flops:
            shape = SHAPES[cfg.data.name]
            flops[model] = count_flops(build_model(cfg.model, shape, 10), shape)
        job_flops.append(flops[model])
        epochs.append(cfg.trainer.max_epochs)
        images.append(train_images(cfg.data))
    jobs = len(job_flops)
    return StudyCost(
        study,
        jobs,
        sum(epochs) / jobs,
        round(sum(images) / jobs),
        sum(job_flops) / jobs,
    )


def _value(text: str) -> object:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_override(f"x={text}").value()


def measured_hours(costs: list[StudyCost], levels: list[Level]) -> dict[str, float]:
    """Wall hours of the grid at the measured concurrency with the highest summed rate."""
    best = max(levels, key=lambda level: level.total_images_s)
    images = sum(c.images for c in costs)
    jobs = sum(c.jobs for c in costs)
    fit_s = images / best.total_images_s
    fixed_s = jobs * best.fixed_s / best.n
    return {
        "concurrency": best.n,
        "images": images,
        "jobs": jobs,
        "images_per_s": best.total_images_s,
        "fit_hours": fit_s / 3600,
        "fixed_hours": fixed_s / 3600,
        "hours": (fit_s + fixed_s) / 3600,
    }


def flops_hours(costs: list[StudyCost], peak_tflops: float, utilisation: float) -> float:
    """Wall hours if training ran at `utilisation` of `peak_tflops` throughout."""
    if not (peak_tflops > 0 and 0 < utilisation <= 1):
        raise ValueError("peak_tflops must be > 0 and utilisation in (0, 1]")
    return sum(c.train_flops for c in costs) / (peak_tflops * 1e12 * utilisation) / 3600


def flops_arithmetic(costs: list[StudyCost], peak_tflops: float, utilisation: float) -> str:
    """The FLOPs projection written out, one line per study and the total."""
    lines = []
    for c in costs:
        lines.append(
            f"{c.study}: {c.jobs} runs x {c.train_images:,} images x {c.epochs:g} epochs x "
            f"{c.flops_per_image / 1e6:.1f} MFLOP/image x 3 = {c.train_flops / 1e15:.1f} PFLOP"
        )
    total = sum(c.train_flops for c in costs)
    hours = flops_hours(costs, peak_tflops, utilisation)
    lines.append(
        f"total {total / 1e15:.1f} PFLOP / ({peak_tflops:g} TFLOP/s x {utilisation:.0%}) = "
        f"{total / (peak_tflops * 1e12 * utilisation):,.0f} s = {hours:.2f} h"
    )
    return "\n".join(lines)


def needed_utilisation(costs: list[StudyCost], peak_tflops: float, hours: float) -> float:
    """The utilisation at which the grid fits in `hours`."""
    return sum(c.train_flops for c in costs) / (peak_tflops * 1e12 * hours * 3600)


def main(argv: list[str] | None = None) -> None:
    """Print the FLOPs projection of a profile's grid (the studies of params.yaml)."""
    import argparse

    from ablate.sweep.params import load_params

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--profile", default="gpu")
    parser.add_argument("--peak-tflops", type=float, default=495.0, help="H100 SXM, dense TF32")
    parser.add_argument("--utilisation", type=float, default=0.05)
    args = parser.parse_args(argv)
    costs = [study_cost(args.profile, s) for s in load_params()["studies"]]
    print(flops_arithmetic(costs, args.peak_tflops, args.utilisation))
    need = needed_utilisation(costs, args.peak_tflops, 1.0)
    print(f"fits in 1 h at {need:.1%} utilisation")


if __name__ == "__main__":
    main()
