import pytest
import torch

from trirl_ros.core.algo.transitions import Transitions
from trirl_ros.core.envs.pointmaze import collect_expert


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small networks on a shared 2-core CPU: OpenMP threads only add contention."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def expert() -> Transitions:
    """A few scripted point-maze expert episodes (s, a, s') for tiny agent runs."""
    s, s2, a, _ = collect_expert(4, num_envs=4)
    return Transitions(torch.from_numpy(s), torch.from_numpy(s2), torch.from_numpy(a))
