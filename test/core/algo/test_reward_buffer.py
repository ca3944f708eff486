"""Reward correction over a buffer (paper Alg. 2 lines 19-24), hand-computed."""

import pytest
import torch

from trirl_ros.core.algo.discriminator import Discriminator, TransitionNet
from trirl_ros.core.algo.reward_buffer import RewardBuffer, correct_rewards
from trirl_ros.core.algo.stacked import StackedModules
from trirl_ros.core.algo.transitions import Transitions

D = 3


def const_net(value: float, cls=Discriminator) -> TransitionNet:
    """A network whose output is the constant ``value`` (zero weights, output bias = value)."""
    net = cls("s_next", D, 2, (4,), normalize_obs=False)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.net[-1].bias.fill_(value)
    return net


def batch(n=5):
    g = torch.Generator().manual_seed(0)
    return Transitions(torch.randn(n, D, generator=g), torch.randn(n, D, generator=g))


# eps = 0.5, beta = 2, base R_fit = 0.25 -> 0.5; D = 1, -2, 0.5 with eta = 0, 1, 3 -> steps 0.5, 0.25, 0.125
# c1 = 0.5*0.5 + 0.5*2*1        = 1.25
# c2 = 0.75*1.25 + 0.25*2*(-2)  = -0.0625
# c3 = 0.875*(-0.0625) + 0.125*2*0.5 = 0.0703125
# intermediate with D_latest = 3: 0.5*0.0703125 + 0.5*2*3 = 3.03515625
EXPECTED_CORRECTED = 0.0703125
EXPECTED_INTERMEDIATE = 3.03515625


def test_three_element_buffer_hand_computed():
    buf = RewardBuffer(const_net(0.0), const_net(0.0, TransitionNet), capacity=3, epsilon=0.5, beta=2.0)
    for d, eta, rfit in ((1.0, 0.0, 0.25), (-2.0, 1.0, 9.0), (0.5, 3.0, -7.0)):
        buf.push(const_net(d), eta, const_net(rfit, TransitionNet))
    b = batch()
    corrected, inter = buf.rewards(b, latest=const_net(3.0))
    assert torch.allclose(corrected, torch.full((5,), EXPECTED_CORRECTED), atol=1e-6)
    assert torch.allclose(inter, torch.full((5,), EXPECTED_INTERMEDIATE), atol=1e-6)
    assert torch.allclose(buf.logits(b)[:, 0], torch.tensor([1.0, -2.0, 0.5]))


def test_eviction_uses_rfit_of_oldest_remaining_entry():
    buf = RewardBuffer(const_net(0.0), const_net(0.0, TransitionNet), capacity=3, epsilon=0.5, beta=2.0)
    entries = ((7.0, 0.0, 100.0), (1.0, 0.0, 0.25), (-2.0, 1.0, 5.0), (0.5, 3.0, 6.0))
    for d, eta, rfit in entries:
        buf.push(const_net(d), eta, const_net(rfit, TransitionNet))
    assert len(buf) == 3
    corrected, inter = buf.rewards(batch(), latest=const_net(3.0))
    assert torch.allclose(corrected, torch.full((5,), EXPECTED_CORRECTED), atol=1e-6)
    assert torch.allclose(inter, torch.full((5,), EXPECTED_INTERMEDIATE), atol=1e-6)


def test_empty_buffer_and_negative_eta_floor():
    buf = RewardBuffer(const_net(0.0), const_net(0.0, TransitionNet), capacity=2, epsilon=0.5, beta=2.0)
    corrected, inter = buf.rewards(batch(), latest=const_net(1.0))
    assert torch.all(corrected == 0) and torch.allclose(inter, torch.full((5,), 1.0))
    buf.push(const_net(1.0), -0.5, const_net(0.0, TransitionNet))  # eta floored at 0: step = eps
    corrected, _ = buf.rewards(batch())
    assert torch.allclose(corrected, torch.full((5,), 0.5 * 2.0 * 1.0))


def test_state_dependent_etas_per_sample():
    logits = torch.tensor([[1.0, 1.0]])
    corrected, _ = correct_rewards(torch.zeros(2), logits, torch.tensor([[0.0, 1.0]]), 0.5, 1.0)
    assert torch.allclose(corrected, torch.tensor([0.5, 0.25]))


def test_stacked_evaluation_matches_loop_in_circular_order():
    torch.manual_seed(1)
    nets = [Discriminator("s_next", D, 2, (8, 8)) for _ in range(5)]
    b = batch(7)
    for n in nets:
        n.update_normalizer(Transitions(torch.randn(20, D) * 3 + 1, torch.randn(20, D)))
    st = StackedModules(nets[0], capacity=3)
    for n in nets:
        st.push(n)
    out = st.evaluate(b.obs, b.next_obs, b.action, b.obs_absorbing, b.next_absorbing)
    ref = torch.stack([n.on(b) for n in nets[2:]])  # the 3 newest, oldest first
    assert out.shape == (3, 7)
    assert torch.equal(out, ref)  # on CPU each copy runs the module's own forward: bit for bit
    vmapped = st._evaluate_vmapped(3, (b.obs, b.next_obs, b.action, b.obs_absorbing, b.next_absorbing), None)
    assert torch.allclose(vmapped, ref, atol=1e-5)  # the GPU path, run here on CPU


def test_buffer_state_dict_roundtrip():
    buf = RewardBuffer(const_net(0.0), const_net(0.0, TransitionNet), capacity=3, epsilon=0.5, beta=2.0)
    for d, eta, rfit in ((1.0, 0.0, 0.25), (-2.0, 1.0, 9.0)):
        buf.push(const_net(d), eta, const_net(rfit, TransitionNet))
    other = RewardBuffer(const_net(0.0), const_net(0.0, TransitionNet), capacity=3, epsilon=0.5, beta=2.0)
    other.load_state_dict(buf.state_dict())
    b = batch()
    assert torch.equal(other.rewards(b)[0], buf.rewards(b)[0])
    with pytest.raises(ValueError, match="epsilon"):
        RewardBuffer(const_net(0.0), const_net(0.0, TransitionNet), 3, epsilon=1.5, beta=1.0)
