"""Imitation score against hand-computed values: a robot standing under PD (zero action) scored
against a standing reference (~1) and against a reference moving forward at 1 m/s (exp(-1))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.envs.config import load_env_config
from trirl_ros.core.envs.locomotion import LocomotionEnv
from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.core.train.evaluation import (eval_env, every_frame, imitation_score, make_eval_env, reference_scores,
                                             start_frames)
from trirl_ros.core.train.reference import ReferenceMotion

STEPS = 60


def _reference(env: LocomotionEnv, speed: float, frames: int = 25, bounds=None) -> ReferenceMotion:
    """A synthetic clip at the policy rate: default pose, base moving along world x at ``speed``;
    ``bounds`` splits the frames into several clips (default: one clip)."""
    robot = env.robot
    q0 = env.default_qpos
    qpos = np.tile(np.concatenate([q0[:7], robot.default_pos]), (frames, 1))
    qpos[:, 0] += speed * np.arange(frames) / robot.policy_hz
    qvel = np.zeros((frames, 6 + robot.num_joints))
    qvel[:, 0] = speed
    ds = Dataset(robot.name, robot.joint_names, robot.policy_hz, qpos, qvel, np.array(bounds or [0, frames]))
    return ReferenceMotion(ds, robot, env.model, env.default_qpos)


@pytest.fixture(scope="module")
def go2_env(robots_dir):
    robot = load_robot_spec("go2")
    train = LocomotionEnv(robot, load_env_config("go2"), num_envs=1)
    env = make_eval_env(train, STEPS, num_envs=2)
    yield env
    env.close()
    train.close()


def _stand(obs):
    return np.zeros((obs.shape[0], 12), dtype=np.float32)


def test_standing_matches_standing_reference(go2_env):
    res = imitation_score(go2_env, _stand, _reference(go2_env, 0.0), STEPS, init="default")
    assert res.survival == 1.0 and res.alive_steps == (STEPS, STEPS)
    assert res.score > 0.99  # PD settling moves the base by millimetres per second
    assert res.joint_pos_rmse < 0.1 and res.joint_vel_rmse < 0.5


def test_standing_against_walking_reference_scores_exp_minus_v2(go2_env):
    res = imitation_score(go2_env, _stand, _reference(go2_env, 1.0), STEPS, init="default")
    # ||0 - (1, 0, 0)||^2 = 1 each step; the base settling under PD (cm/s for the first steps)
    # shifts it by about 0.01
    assert res.score == pytest.approx(math.exp(-1.0), abs=0.02)
    assert res.score < 0.5


def test_heading_frame_makes_the_score_yaw_invariant(go2_env):
    """The reference walks along world y facing +y (yaw 90 deg): in its heading frame that is
    forward, so a robot standing (facing +x) still scores exp(-1) and not something else."""
    ref = _reference(go2_env, 0.0)
    yaw = math.pi / 2
    ref.qpos[:, 3:7] = (math.cos(yaw / 2), 0, 0, math.sin(yaw / 2))
    ref.qvel[:, :3] = (0.0, 1.0, 0.0)
    from trirl_ros.core.train.reference import BodyVelocity

    ref.velocity = BodyVelocity(go2_env.model, go2_env.robot, "base_link")(ref.qpos, ref.qvel)
    np.testing.assert_allclose(ref.velocity[0], (1.0, 0.0, 0.0), atol=1e-9)
    res = imitation_score(go2_env, _stand, ref, STEPS, init="default")
    assert res.score == pytest.approx(math.exp(-1.0), abs=0.02)


def test_a_fall_scores_zero_from_then_on(go2_env):
    """Hips splayed outward to their limits make the Go2 fall; steps after the fall add nothing, so
    the score is at most the alive fraction (an env that fell and was auto-reset must not score
    again). (Alternating +-8 actions stopped toppling it once the env clipped targets to the joint
    ranges: whether it fell then depended on the first action's sign.)"""
    splay = np.array([8.0, 0.0, 0.0, -8.0, 0.0, 0.0, 8.0, 0.0, 0.0, -8.0, 0.0, 0.0], np.float32)  # FL FR RL RR

    def flail(obs):
        return np.tile(splay, (obs.shape[0], 1))

    res = imitation_score(go2_env, flail, _reference(go2_env, 0.0), STEPS, init="default")
    assert res.survival < 0.8, res  # it really fell (measured: 0.13); else the bound below is vacuous
    assert 0.0 < res.score <= res.survival + 1e-9
    assert min(res.alive_steps) < STEPS and res.survival == pytest.approx(np.mean(res.alive_steps) / STEPS)


def test_eval_env_runs_on_the_training_envs_threads_with_the_same_scores(robots_dir):
    """make_eval_env steps on as many MuJoCo threads as the training env: the physics of each env,
    and so every episode's score, is the same as on one thread."""
    robot = load_robot_spec("go2")
    train = LocomotionEnv(robot, load_env_config("go2"), num_envs=4, num_threads=2)
    two = make_eval_env(train, STEPS, num_envs=4)
    one = eval_env(robot, load_env_config("go2"), STEPS, num_envs=4)  # one thread
    assert (two.num_threads, one.num_threads) == (2, 1)
    rng = np.random.default_rng(0)
    acts = rng.normal(0.0, 0.6, size=(STEPS + 1, 4, 12)).astype(np.float32)
    results = []
    for env in (one, two):
        t = iter(range(STEPS + 1))
        results.append(imitation_score(env, lambda obs: acts[next(t)], _reference(env, 0.5), STEPS))
    assert results[0].per_env_score == results[1].per_env_score and results[0].joint_pos_rmse == results[1].joint_pos_rmse
    for env in (one, two, train):
        env.close()


def test_reference_scores_of_standing_and_of_the_clip_mean_velocity(go2_env):
    """A reference moving at a constant 1 m/s: standing scores exp(-1), its own mean velocity 1;
    a reference whose speed alternates 0.5 / 1.5 m/s: the mean velocity misses by 0.5 every frame."""
    standing, steady = reference_scores(_reference(go2_env, 1.0))
    assert standing == pytest.approx(math.exp(-1.0), abs=1e-6) and steady == pytest.approx(1.0, abs=1e-9)
    ref = _reference(go2_env, 1.0, frames=24)
    ref.velocity[:, 0] = np.where(np.arange(24) % 2 == 0, 0.5, 1.5)
    standing, steady = reference_scores(ref)
    assert steady == pytest.approx(math.exp(-0.25), abs=1e-9)
    assert standing == pytest.approx(0.5 * (math.exp(-0.25) + math.exp(-2.25)), abs=1e-6)


def test_every_frame_starts_each_clip_at_each_of_its_frames(go2_env):
    """Two clips of 10 and 15 frames: 25 starts, clip 0 at steps 0..9 then clip 1 at 0..14 (the
    evenly spaced start_frames of 4 envs take 0 and 5 of clip 0, 0 and 7 of clip 1)."""
    ref = _reference(go2_env, 0.0, bounds=[0, 10, 25])
    clips, t0 = every_frame(ref)
    np.testing.assert_array_equal(clips, [0] * 10 + [1] * 15)
    np.testing.assert_array_equal(t0, list(range(10)) + list(range(15)))
    np.testing.assert_array_equal(ref.frame_index(clips, t0), np.arange(25))
    clips4, t04 = start_frames(ref, 4)
    np.testing.assert_array_equal(clips4, [0, 1, 0, 1])
    np.testing.assert_array_equal(t04, [0, 0, 5, 7])


def test_explicit_starts_must_give_one_start_per_env(go2_env):
    ref = _reference(go2_env, 0.0, bounds=[0, 10, 25])
    with pytest.raises(ValueError, match=r"one clip and one start step per env \(2\)"):
        imitation_score(go2_env, _stand, ref, STEPS, starts=every_frame(ref))
    res = imitation_score(go2_env, _stand, ref, 5, starts=(np.array([1, 0]), np.array([14, 3])))
    assert res.alive_steps == (5, 5)
