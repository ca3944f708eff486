"""The discriminator view: the newest frame's chosen terms, equal to building them directly."""

from __future__ import annotations

import numpy as np
import torch

from trirl_ros.core.algo.hparams import AlgoConfig, DiscriminatorConfig, PolicyConfig, TRIRLConfig
from trirl_ros.core.algo.transitions import Transitions
from trirl_ros.core.envs.config import load_env_config
from trirl_ros.core.envs.obs_spec import ObsHistory, RobotState, compute_frame
from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.core.train.disc_view import DiscView, FeatureViewReward, build_agent


def _state(rng, n, j):
    q = rng.normal(size=(n, 4))
    return RobotState(rng.normal(size=(n, j)), rng.normal(size=(n, j)), q / np.linalg.norm(q, axis=1, keepdims=True),
                      rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), rng.normal(size=(n, j)), np.zeros((n, 3)))


def test_view_of_stacked_obs_equals_direct_frame(robots_dir):
    robot = load_robot_spec("g1_29dof")
    spec = load_env_config("g1_29dof").obs  # history 3, last_action included
    assert spec.history == 3
    view = DiscView.build(spec, ("base_ang_vel", "joint_pos", "joint_vel"), robot.num_joints)
    assert view.dim == 3 + 2 * robot.num_joints and not view.is_identity
    assert view.spec.history == 1 and [t.name for t in view.spec.terms] == ["base_ang_vel", "joint_pos", "joint_vel"]
    rng = np.random.default_rng(0)
    hist = ObsHistory(2, spec.frame_dim(robot.num_joints), spec.history)
    states = [_state(rng, 2, robot.num_joints) for _ in range(3)]
    for s in states:
        obs = hist.push(compute_frame(spec, robot, s))
    got = view(torch.from_numpy(obs)).numpy()
    want = compute_frame(view.spec, robot, states[-1])  # newest frame, chosen terms, same scales
    np.testing.assert_array_equal(got, want)
    # hand check of one column: joint_vel is scaled by 0.05 in the G1 env config
    np.testing.assert_allclose(got[:, -robot.num_joints:], states[-1].joint_vel * 0.05, rtol=1e-6)


def test_identity_view_and_bad_terms(robots_dir):
    robot = load_robot_spec("go2")
    spec = load_env_config("go2").obs
    assert DiscView.build(spec, [t.name for t in spec.terms], robot.num_joints).is_identity
    import pytest

    with pytest.raises(ValueError, match="projected_gravity"):
        DiscView.build(spec, ("projected_gravity",), robot.num_joints)


def test_agent_learner_sees_the_view(robots_dir):
    robot = load_robot_spec("go2")
    spec = load_env_config("go2").obs
    view = DiscView.build(spec, ("base_lin_vel", "joint_pos"), robot.num_joints)
    small = (8,)
    algo = AlgoConfig(policy=PolicyConfig(hidden=small, critic_hidden=small),
                      disc=DiscriminatorConfig(hidden=small, epochs=1, minibatch=8),
                      trirl=TRIRLConfig(buffer_size=2, rfit_hidden=small, rfit_epochs=1, rfit_minibatch=8))
    D = spec.dim(robot.num_joints)
    agent = build_agent(algo, D, robot.num_joints, 2, view, seed=0)
    assert isinstance(agent.learner, FeatureViewReward)
    assert agent.learner.inner.disc.obs_dim == view.dim == 3 + 12
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(2, D)).astype(np.float32)
    for _ in range(agent.cfg.ppo.horizon):
        a = agent.act(obs)
        nxt = rng.normal(size=(2, D)).astype(np.float32)
        agent.process_step(obs, a, nxt, np.zeros(2), np.zeros(2, bool), np.zeros(2, bool), nxt)
        obs = nxt
    expert = Transitions(rng.normal(size=(10, view.dim)), rng.normal(size=(10, view.dim)))
    metrics = agent.update(expert)
    assert "disc/accuracy" in metrics and np.isfinite(metrics["tr/eta"])
    r = agent.reward(torch.zeros(3, D), torch.ones(3, D))
    assert r.shape == (3,)
    # the learned reward depends only on the viewed columns: changing last_action changes nothing
    s = torch.from_numpy(rng.normal(size=(3, D)).astype(np.float32))
    s2 = s.clone()
    la = spec.term_slices(robot.num_joints)["last_action"]
    s2[:, la] += 5.0
    torch.testing.assert_close(agent.reward(s, s), agent.reward(s2, s2))
