"""LocomotionEnv on the real Unitree MJCFs: shapes, standing under PD, determinism, termination
vs truncation, reset_to, PD law."""

import dataclasses

import mujoco
import numpy as np
import pytest

from trirl_ros.core.envs.config import EnvConfig, load_env_config
from trirl_ros.core.envs.locomotion import LocomotionEnv
from trirl_ros.core.envs.obs_spec import ObsSpec, ObsTerm
from trirl_ros.core.robots.spec import load_robot_spec, robot_names


def _tilt_deg(quat):
    w, x, y, z = quat.T
    return np.degrees(np.arccos(np.clip(1 - 2 * (x * x + y * y), -1, 1)))


@pytest.mark.parametrize("name", robot_names())
def test_env_reset_step_stand_and_determinism(name, robots_dir):
    robot = load_robot_spec(name)
    cfg = load_env_config(name)
    quiet = dataclasses.replace(cfg, joint_pos_noise=0.0, joint_vel_noise=0.0)
    with LocomotionEnv(robot, quiet, num_envs=1, seed=0) as env:
        obs = env.reset()
        assert obs.shape == (1, cfg.obs.dim(robot.num_joints)) == (1, env.observation_dim)
        assert env.action_dim == robot.num_joints
        z0 = env.get_qpos()[0, 2]
        heights, tilts = [], []
        for _ in range(int(2.0 * robot.policy_hz)):  # 2 s of simulated time, default pose held by PD
            obs, terminated, truncated, info = env.step(np.zeros((1, robot.num_joints), np.float32))
            assert obs.shape == (1, env.observation_dim) and np.isfinite(obs).all()
            assert not terminated.any() and not truncated.any()
            heights.append(env.get_qpos()[0, 2])
            tilts.append(_tilt_deg(info["state"].base_quat)[0])
        assert max(abs(h - z0) for h in heights) < 0.05, f"{name}: base height left {z0:.3f} ± 5 cm"
        assert max(tilts) < 10.0, f"{name}: tilt reached {max(tilts):.1f} deg"

    def rollout(threads):
        rng = np.random.default_rng(1)
        with LocomotionEnv(robot, cfg, num_envs=3, seed=7, num_threads=threads) as env:
            out = [env.reset()]
            for _ in range(15):
                out.append(env.step(rng.uniform(-1, 1, (3, robot.num_joints)).astype(np.float32))[0])
            return np.stack(out), env.get_qpos()

    a, qa = rollout(1)
    b, qb = rollout(2)
    np.testing.assert_array_equal(a, b)  # same seed -> identical, whatever the thread count
    np.testing.assert_array_equal(qa, qb)
    assert not np.array_equal(a[0, 0], a[0, 1])  # reset noise differs between envs


@pytest.fixture(scope="module")
def go2():
    return load_robot_spec("go2")


def test_truncation_is_not_termination(go2, robots_dir):
    cfg = EnvConfig(obs=ObsSpec(terms=(ObsTerm("joint_pos"),)), episode_length_s=0.1)  # 5 steps
    with LocomotionEnv(go2, cfg, num_envs=2, seed=0) as env:
        env.reset()
        for k in range(5):
            obs, terminated, truncated, info = env.step(np.zeros((2, 12), np.float32))
        assert truncated.all() and not terminated.any()
        assert info["episode_steps"].tolist() == [5, 5]
        assert env.episode_steps.tolist() == [0, 0]  # auto-reset
        np.testing.assert_allclose(obs, 0.0, atol=1e-6)  # new episode starts at the default pose
        assert not np.allclose(info["final_obs"], 0.0)  # final_obs is the pre-reset observation


def test_set_time_limit_shortens_only_the_current_episode_of_the_given_envs(go2, robots_dir):
    cfg = EnvConfig(obs=ObsSpec(terms=(ObsTerm("joint_pos"),)), episode_length_s=0.1)  # 5 steps
    with LocomotionEnv(go2, cfg, num_envs=2, seed=0) as env:
        env.reset()
        env.set_time_limit(np.array([0]), 0.06)  # 3 steps at 50 Hz
        ends = []
        for k in range(8):
            _, terminated, truncated, info = env.step(np.zeros((2, 12), np.float32))
            assert not terminated.any()
            ends += [(k + 1, i, int(info["episode_steps"][i])) for i in np.nonzero(truncated)[0]]
        # env 0: 3 steps, then its next episode runs the full 5; env 1: 5 steps throughout
        assert ends == [(3, 0, 3), (5, 1, 5), (8, 0, 5)]
        env.set_time_limit(np.array([1]), 100.0)  # never longer than episode_length_s
        for _ in range(2):
            _, _, truncated, info = env.step(np.zeros((2, 12), np.float32))
        assert truncated.tolist() == [False, True] and info["episode_steps"][1] == 5
        with pytest.raises(ValueError, match="seconds must be > 0"):
            env.set_time_limit(np.array([0]), 0.0)
        with pytest.raises(ValueError, match=r"env_ids must lie in \[0, 2\)"):
            env.set_time_limit(np.array([2]), 1.0)


def test_fall_terminates_and_autoresets(go2, robots_dir):
    cfg = EnvConfig(obs=ObsSpec(terms=(ObsTerm("projected_gravity"),)))
    with LocomotionEnv(go2, cfg, num_envs=2, seed=0) as env:
        env.reset()
        qpos, qvel = env.get_qpos(), env.get_qvel()
        # env 1: upside down (rolled 180 deg about x) at a sane height
        qpos[1, 3:7] = [0.0, 1.0, 0.0, 0.0]
        qpos[1, 2] = 0.4
        obs = env.reset_to(qpos[1:], qvel[1:], np.array([1]))
        np.testing.assert_allclose(obs[1], [0, 0, 1], atol=1e-6)  # gravity points up in the base frame
        obs, terminated, truncated, info = env.step(np.zeros((2, 12), np.float32))
        assert terminated.tolist() == [False, True] and not truncated.any()
        assert info["final_obs"][1, 2] > 0.9  # the fallen observation is kept for absorbing states
        np.testing.assert_allclose(obs[1], [0, 0, -1], atol=1e-6)  # reset to the default pose: upright, identity quaternion


def test_reset_to_validates(go2, robots_dir):
    cfg = EnvConfig(obs=ObsSpec(terms=(ObsTerm("joint_pos"),)))
    with LocomotionEnv(go2, cfg, num_envs=2, seed=0) as env:
        q, v = env.get_qpos(), env.get_qvel()
        with pytest.raises(ValueError, match=r"qpos \(2, 19\) / qvel \(2, 18\) must be \(1, 19\)"):
            env.reset_to(q, v, np.array([0]))
        q[0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            env.reset_to(q, v)
        with pytest.raises(ValueError, match=r"action has shape \(2, 11\)"):
            env.step(np.zeros((2, 11), np.float32))


def test_pd_law_matches_hand_computation(go2, robots_dir):
    """tau = clip(kp (q* - q) - kd qdot) is what MuJoCo applies, per joint, at physics rate, with
    q* clipped to the joint range exactly as deploy clips it (one function, RobotSpec.action_targets)."""
    from trirl_ros.core.deploy.commands import CommandShaper
    from trirl_ros.core.deploy.policy_spec import spec_from_robot

    cfg = EnvConfig(obs=ObsSpec(terms=(ObsTerm("joint_pos"),)))
    with LocomotionEnv(go2, cfg, num_envs=1, seed=0) as env:
        env.reset()
        action = np.full((1, 12), 0.4, np.float32)
        action[0, 1] = 40.0  # FL thigh: target 10 rad away, beyond its range -> clipped to the range
        action[0, 2] = -40.0  # FL calf: below its range
        env.step(action)
        d = env.data(0)  # state after the step, PD targets of the step, mj_forward done
        state = env.state()
        q, qd = state.joint_pos[0], state.joint_vel[0]
        lo, hi = go2.pos_limits.T
        target = np.clip(go2.default_pos + go2.action_scale * action[0], lo, hi)  # by hand
        assert target[1] == hi[1] and target[2] == lo[2] and target[0] < hi[0]
        act = [mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_ACTUATOR, j.actuator) for j in go2.joints]
        np.testing.assert_array_equal(d.ctrl[act], target)
        expected = np.clip(go2.kp * (target - q) - go2.kd * qd, -go2.torque_limit, go2.torque_limit)
        np.testing.assert_allclose(d.actuator_force[act], expected, rtol=1e-9, atol=1e-9)
        shaper = CommandShaper(go2, spec_from_robot(go2, cfg.obs))
        cmd = shaper.policy(action[0].astype(np.float64))
        np.testing.assert_array_equal(cmd.q[go2.motor_indices], target)  # deploy sends what training used


def test_commands_are_drawn_per_env_at_resets_and_on_schedule_and_observed(go2, robots_dir):
    robot = load_robot_spec("go2")
    obs = ObsSpec(terms=(ObsTerm("velocity_command", scale=2.0), ObsTerm("joint_pos")))
    cfg = EnvConfig(obs=obs, command_ranges=((0.2, 1.2), (-0.1, 0.1), (0.0, 0.0)), command_resample_s=0.1)
    with LocomotionEnv(robot, cfg, num_envs=16, seed=3) as env:
        first = env.reset()
        drawn = env.commands
        assert np.allclose(first[:, :3], 2.0 * drawn)  # the observation carries each env's own command
        assert (drawn[:, 0] >= 0.2).all() and (drawn[:, 0] <= 1.2).all() and (np.abs(drawn[:, 1]) <= 0.1).all()
        assert (drawn[:, 2] == 0).all() and len(np.unique(drawn[:, 0])) == 16
        zero = np.zeros((16, robot.num_joints), np.float32)
        for _ in range(int(round(0.1 * robot.policy_hz)) - 1):
            env.step(zero)
        assert np.array_equal(env.commands, drawn)  # held until the 0.1 s interval ends
        obs, *_ = env.step(zero)
        assert not np.isin(env.commands[:, 0], drawn[:, 0]).any()  # every env drew a new one
        assert np.allclose(obs[:, :3], 2.0 * env.commands)
        env.set_commands(np.array([[0.3, 0.0, 0.0]]), np.array([5]))
        assert env.commands[5].tolist() == [0.3, 0.0, 0.0]
        with pytest.raises(ValueError, match=r"commands must be finite with shape \(2, 3\)"):
            env.set_commands(np.full((2, 3), np.nan), np.array([0, 1]))
