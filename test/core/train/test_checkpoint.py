"""Checkpoints: atomic, weights-only loadable, RNG states restored exactly."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from trirl_ros.core.train import checkpoint as ckpt


def test_round_trip_restores_every_rng(tmp_path):
    gen = np.random.default_rng(3)
    gen.random(5)
    state = {"global": ckpt.capture_global_rng(), "gen": ckpt.generator_state(gen), "w": torch.arange(3.0)}
    path = ckpt.save_atomic(state, tmp_path / "c" / "latest.pt")
    want = (random.random(), np.random.rand(), torch.rand(1).item(), gen.random())
    loaded = ckpt.load_checkpoint(path)  # weights_only=True inside
    ckpt.restore_global_rng(loaded["global"])
    gen2 = np.random.default_rng(99)
    ckpt.set_generator_state(gen2, loaded["gen"])
    got = (random.random(), np.random.rand(), torch.rand(1).item(), gen2.random())
    assert got == want
    assert [p.name for p in path.parent.iterdir()] == ["latest.pt"]  # no temp file left


class _Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_arbitrary_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"x": _Evil()}, path)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        ckpt.load_checkpoint(path)


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        ckpt.load_checkpoint(tmp_path / "nope.pt")
