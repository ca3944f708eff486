"""Checkpoints: atomic writes, safe loads (``torch.load(weights_only=True)``), RNG capture.

Everything stored is a tensor, a number, a string, or a list/dict of those, so the weights-only
unpickler (which refuses arbitrary objects and thus code execution) loads it. RNG states that are
not tensors (Python's ``random``, NumPy generators) are stored as JSON strings.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch


def save_atomic(obj: dict, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the same folder, fsync, then rename over ``path``: a reader
    (or a crash) never sees a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with the weights-only unpickler. Raises FileNotFoundError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    obj = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a checkpoint dict")
    return obj


def _np_state_to_json(state: tuple) -> str:
    name, keys, pos, has_gauss, cached = state
    return json.dumps([name, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(cached)])


def _np_state_from_json(text: str) -> tuple:
    name, keys, pos, has_gauss, cached = json.loads(text)
    return name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached


def capture_global_rng() -> dict:
    """Python, NumPy-global and torch RNG states (CUDA too when present)."""
    out = {"python": json.dumps(random.getstate()), "numpy": _np_state_to_json(np.random.get_state()),
           "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def restore_global_rng(state: dict) -> None:
    py = json.loads(state["python"])
    random.setstate((py[0], tuple(py[1]), py[2]))
    np.random.set_state(_np_state_from_json(state["numpy"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def generator_state(gen: np.random.Generator) -> str:
    """A NumPy Generator's state as JSON."""
    return json.dumps(gen.bit_generator.state)


def set_generator_state(gen: np.random.Generator, text: str) -> None:
    gen.bit_generator.state = json.loads(text)
