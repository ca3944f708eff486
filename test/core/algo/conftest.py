import pytest
import torch

from trirl_ros.core.algo.transitions import Transitions
from trirl_ros.core.envs.pointmaze import collect_expert


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs torch on one thread (test/conftest.py)."""


@pytest.fixture(scope="module")
def expert() -> Transitions:
    """A few scripted point-maze expert episodes (s, a, s') for tiny agent runs."""
    s, s2, a, _ = collect_expert(4, num_envs=4)
    return Transitions(torch.from_numpy(s), torch.from_numpy(s2), torch.from_numpy(a))
