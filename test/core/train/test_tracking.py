"""The tracking baseline: reward against hand-computed values, the per-env phase, a tiny run on the
real Go2 mocap (reward reaches PPO, phases survive a resume), and the evaluation's start phases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trirl_ros.core.algo.hparams import TrackingConfig
from trirl_ros.core.config import config_path
from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.envs.config import load_env_config
from trirl_ros.core.envs.locomotion import LocomotionEnv
from trirl_ros.core.robots.models import joint_qpos_adr
from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.core.train.evaluation import start_frames
from trirl_ros.core.train.reference import ReferenceMotion
from trirl_ros.core.train.run import TrainingRun
from trirl_ros.core.train.task import load_task_config
from trirl_ros.core.train.tracking import TrackingReward

ALL_TERMS = dict(lin_vel_weight=0.3, ang_vel_weight=0.1, joint_pos_weight=0.3, joint_vel_weight=0.1,
                 orientation_weight=0.1, height_weight=0.1)


@pytest.fixture(scope="module")
def go2(robots_dir):
    robot = load_robot_spec("go2")
    env = LocomotionEnv(robot, load_env_config("go2"), num_envs=1)
    yield robot, env
    env.close()


def _two_clip_reference(robot, env, lengths=(10, 20)) -> ReferenceMotion:
    """Clip 0 stands; clip 1 moves along x at 1 m/s; both in the default pose."""
    T = sum(lengths)
    qpos = np.tile(np.concatenate([env.default_qpos[:7], robot.default_pos]), (T, 1))
    qvel = np.zeros((T, 6 + robot.num_joints))
    qvel[lengths[0]:, 0] = 1.0
    ds = Dataset(robot.name, robot.joint_names, robot.policy_hz, qpos, qvel, np.array([0, lengths[0], T]))
    return ReferenceMotion(ds, robot, env.model, env.default_qpos)


def _tracker(cfg, robot, env, ref, n):
    return TrackingReward(cfg, ref, n, env.model, robot)


def test_reward_is_the_weight_sum_on_the_reference_and_exp_of_the_error_off_it(go2):
    robot, env = go2
    ref = _two_clip_reference(robot, env)
    cfg = TrackingConfig(**ALL_TERMS)
    tr = _tracker(cfg, robot, env, ref, 3)
    tr.set_phase(np.arange(3), np.array([10, 10, 10]))  # clip 1, its first frame
    nxt = ref.frame_index(np.array([1, 1, 1]), np.array([1, 1, 1]))
    qpos, qvel = ref.qpos[nxt].copy(), ref.qvel[nxt].copy()
    qvel[1, 0] = 0.5  # env 1: 0.5 m/s slower than the reference
    q = joint_qpos_adr(env.model, robot)
    qpos[2, q[0]] += 0.2  # env 2: one joint 0.2 rad off
    qpos[2, 2] -= 0.05  # and the base 5 cm lower
    r, parts = tr.step(qpos, qvel)
    total = sum(ALL_TERMS.values())
    assert r[0] == pytest.approx(total, abs=1e-12)
    assert r[1] == pytest.approx(total - 0.3 + 0.3 * math.exp(-1.0 * 0.25), abs=1e-12)
    expect2 = total - 0.3 - 0.1 + 0.3 * math.exp(-2.0 * 0.04) + 0.1 * math.exp(-100.0 * 0.0025)
    assert r[2] == pytest.approx(expect2, abs=1e-12)
    assert parts["reward/track_lin_vel"] == pytest.approx((2 + math.exp(-0.25)) / 3)
    assert tr.t.tolist() == [1, 1, 1] and tr.clip.tolist() == [1, 1, 1]


def test_phase_follows_the_reset_frame_and_loops_in_its_clip(go2):
    robot, env = go2
    ref = _two_clip_reference(robot, env)
    tr = _tracker(TrackingConfig(), robot, env, ref, 2)
    tr.set_phase(np.array([0, 1]), np.array([9, 29]))  # the last frames of clip 0 and clip 1
    assert tr.clip.tolist() == [0, 1] and tr.t.tolist() == [9, 19]
    tr.step(ref.qpos[[0, 10]], ref.qvel[[0, 10]])
    assert tr.frames().tolist() == [0, 10]  # each looped to its own clip's start
    rng = np.random.default_rng(0)
    tr.random_phase(np.array([0, 1]), rng)
    assert all(ref.starts[c] + t < ref.num_frames for c, t in zip(tr.clip, tr.t))


def test_config_rejects_a_constant_reward_and_negative_settings():
    with pytest.raises(ValueError, match="every term weight is 0"):
        TrackingConfig(lin_vel_weight=0.0, joint_pos_weight=0.0)
    with pytest.raises(ValueError, match="tracking.height_k must be a finite number >= 0"):
        TrackingConfig(height_k=-1.0)


def test_evaluation_start_phases_spread_over_each_clip(go2):
    robot, env = go2
    ref = _two_clip_reference(robot, env, lengths=(10, 20))
    clips, t0 = start_frames(ref, 8)
    assert clips.tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    assert t0.tolist() == [0, 0, 2, 5, 5, 10, 7, 15]
    clips, t0 = start_frames(ref, 1)
    assert clips.tolist() == [0] and t0.tolist() == [0]


def test_tiny_tracking_run_feeds_the_reward_to_ppo_and_resumes_its_phases(tiny_task, tmp_path):
    path = tiny_task(total_steps=64, reference_init=1.0)
    cfg = load_task_config(path, ["algo.algorithm=tracking", "export=false"])
    run = TrainingRun.create(cfg, tmp_path / "run", tensorboard=False)
    # every env started from a demonstration frame, and tracks that frame
    start = run.tracking.frames()
    assert np.allclose(run.env.get_qpos()[:, :3], run.ref.qpos[start, :3])
    row = run.step_iteration()
    assert 0.0 < row["reward/ppo_mean"] <= 1.0  # 0.5 exp(-|dv|^2) + 0.5 exp(-2 sum dq^2)
    assert row["reward/ppo_mean"] == pytest.approx(
        0.5 * row["reward/track_lin_vel"] + 0.5 * row["reward/track_joint_pos"], rel=1e-6)
    run.save_checkpoint()
    clip, t = run.tracking.clip.copy(), run.tracking.t.copy()
    run.close()
    again = TrainingRun.resume(tmp_path / "run", tensorboard=False)
    assert again.tracking.clip.tolist() == clip.tolist() and again.tracking.t.tolist() == t.tolist()
    again.close()


def test_command_target_compares_planar_velocity_and_yaw_rate_with_each_envs_command(go2):
    robot, env = go2
    ref = _two_clip_reference(robot, env)
    cfg = TrackingConfig(lin_vel_weight=0.6, lin_vel_k=2.0, ang_vel_weight=0.1, ang_vel_k=2.0,
                         joint_pos_weight=0.3, velocity_target="command")
    tr = _tracker(cfg, robot, env, ref, 2)
    tr.set_phase(np.arange(2), np.array([10, 10]))  # clip 1 moves at 1 m/s: ignored for velocity
    nxt = ref.frame_index(np.array([1, 1]), np.array([1, 1]))
    qpos, qvel = ref.qpos[nxt].copy(), ref.qvel[nxt].copy()
    qvel[:, 0] = 0.5  # both move at 0.5 m/s along x (base frame = world frame, identity quaternion)
    qvel[:, 2] = 0.3  # and 0.3 m/s up: not compared in command mode
    qvel[1, 5] = 0.4  # env 1 turns at 0.4 rad/s
    command = np.array([[0.5, 0.0, 0.0], [1.0, 0.2, 0.0]])
    r, _ = tr.step(qpos, qvel, command)
    assert r[0] == pytest.approx(1.0, abs=1e-12)
    expect1 = 0.6 * math.exp(-2.0 * (0.25 + 0.04)) + 0.1 * math.exp(-2.0 * 0.16) + 0.3
    assert r[1] == pytest.approx(expect1, abs=1e-12)
    with pytest.raises(ValueError, match="needs the \\(N, 3\\) commands"):
        tr.step(qpos, qvel)


def test_command_tracking_task_needs_drawn_commands_the_policy_can_see(tiny_task):
    path = tiny_task(total_steps=64)
    with pytest.raises(ValueError, match="velocity_target 'command' needs env.command_ranges"):
        load_task_config(path, ["algo.algorithm=tracking", "algo.tracking.velocity_target=command"])
    with pytest.raises(ValueError, match="add the velocity_command term"):
        load_task_config(path, ["env.command_ranges=[[0.2, 1.0], [0, 0], [0, 0]]"])


def test_command_task_trains_and_evaluates_each_env_at_its_own_command(tmp_path, robots_dir, mocap_dir):
    cfg = load_task_config(config_path("tasks", "go2_trot_command.yaml"),
                           ["total_steps=1536", "num_envs=64", "export=false", "eval.steps=20",
                            "eval.num_envs=3", "eval.every_iters=1"])
    run = TrainingRun.create(cfg, tmp_path / "run", tensorboard=False)
    drawn = run.env.commands
    assert (drawn[:, 0] >= 0.0).all() and (drawn[:, 0] <= 1.2).all() and (drawn[:, 1] == 0).all()
    assert (np.abs(drawn[:, 2]) <= 0.5).all()
    assert drawn[:, 0].std() > 0.2  # drawn per env, not one command for all
    row = run.step_iteration()
    assert 0.0 < row["reward/ppo_mean"] <= 1.0
    assert run.eval_env.commands[:, 0].tolist() == pytest.approx([0.0, 0.6, 1.2])
    assert 0.0 < row["eval/score"] < 1.0
    run.close()


def test_default_pose_starts_end_after_standing_episode_s_and_clip_starts_do_not(tiny_task, tmp_path):
    # reference_init 0.5: each reset picks at random; the default-pose episodes (the clip's phase is
    # unset: random_phase) are truncated after 0.1 s = 5 steps at 50 Hz, the clip-state ones run on
    path = tiny_task(total_steps=64, reference_init=0.5, standing_episode_s=0.1)
    cfg = load_task_config(path, ["algo.algorithm=tracking", "export=false"])
    run = TrainingRun.create(cfg, tmp_path / "run", tensorboard=False)
    standing = run.env._limit == 5
    assert 0 < standing.sum() < cfg.num_envs  # seed 0 draws both kinds among the 4 envs
    assert (run.env._limit[~standing] == run.env.max_episode_steps).all()
    assert run.env.episode_steps.tolist() == [0] * cfg.num_envs
    row = run.step_iteration()  # 8 steps per env: only the standing envs ended, at 5 steps
    assert row["env/episode_length"] == 5.0
    assert (run.env.episode_steps[standing] == 3).all() and (run.env.episode_steps[~standing] == 8).all()
    run.close()
