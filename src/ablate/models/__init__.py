"""Model zoo: registries of activations, inits, norms, downsampling and architectures."""

from ablate.models.activations import ACTIVATIONS
from ablate.models.architectures import ARCHITECTURES, build_model
from ablate.models.downsampling import DOWNSAMPLING
from ablate.models.inits import INITS, apply_init
from ablate.models.norms import NORM_POSITIONS, NORMS

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "DOWNSAMPLING",
    "INITS",
    "NORMS",
    "NORM_POSITIONS",
    "apply_init",
    "build_model",
]
