"""Seeds in one place: every random source of a run is seeded from here."""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and (if installed) torch; return a NumPy Generator for this run."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but keep core importable
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
