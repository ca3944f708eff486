import numpy as np
import pytest
import torch

from trirl_ros.core.algo.normalizer import RunningNormalizer


def test_running_stats_match_numpy_and_batching():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(1000, 4)).astype(np.float32)
    a, b = RunningNormalizer(4), RunningNormalizer(4)
    a.update(torch.from_numpy(x))
    for chunk in np.array_split(x, 7):
        b.update(torch.from_numpy(chunk))
    assert np.allclose(a.mean.numpy(), x.mean(0), atol=1e-5)
    assert np.allclose(a.var.numpy(), x.var(0), rtol=1e-4)
    assert torch.allclose(a.mean, b.mean, atol=1e-6) and torch.allclose(a.var, b.var, rtol=1e-5)
    y = a.normalize(torch.from_numpy(x))
    assert abs(float(y.mean())) < 1e-3 and abs(float(y.std()) - 1.0) < 1e-2


def test_state_dict_resume_and_bad_input():
    a = RunningNormalizer(2)
    a.update(torch.tensor([[1.0, 2.0], [3.0, 5.0]]))
    b = RunningNormalizer(2)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.mean, b.mean) and torch.equal(a.var, b.var) and float(b.count) == 2.0
    with pytest.raises(ValueError, match="NaN"):
        a.update(torch.tensor([[float("nan"), 0.0]]))
