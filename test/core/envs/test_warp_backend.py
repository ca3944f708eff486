"""The MuJoCo Warp backend (warp's CPU device here) against CPU MuJoCo: same observations from the
same states and actions, same imitation score of a shipped policy.

Measured when written (50 steps of the shipped policies; the tolerances below leave ~4-20x):
one policy step from the same state, max |observation difference| Go2 5.3e-6 (qpos 1.7e-6), G1
5.4e-4 (qpos 2.7e-4, the base angular velocity: the G1's feet are meshes, whose contacts warp's
collision code finds a little differently); free-running score (4 episodes) Go2 0.8868542 vs
0.8868544, G1 0.8453 vs 0.8477. Warp computes in float32, CPU MuJoCo in float64.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trirl_ros.core.envs.config import load_env_config
from trirl_ros.core.envs.physics import WarpPhysics
from trirl_ros.core.export.model_dir import evaluate_onnx, load_policy_fn
from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.core.train.evaluation import eval_env
from trirl_ros.core.train.task import load_task_config

TOLERANCE = {"go2_trot": (1e-4, 1e-3), "g1_walk": (2e-3, 1e-2)}  # (one-step |obs diff|, |score diff|)
STEPS = 30


def _warp(cfg):
    return dataclasses.replace(cfg, backend="warp", backend_device="cpu")


@pytest.mark.parametrize("model", sorted(TOLERANCE))
def test_warp_steps_like_mujoco_and_scores_the_same(model, repo_dir):
    model_dir = repo_dir / "models" / model
    obs_tol, score_tol = TOLERANCE[model]
    task = load_task_config(model_dir / "config.yaml")
    robot, policy = load_policy_fn(model_dir, task)
    cpu, wrp = eval_env(robot, task.env, 2 * STEPS, 3, seed=0), eval_env(robot, _warp(task.env), 2 * STEPS, 3, seed=0)
    try:
        obs_c, obs_w = cpu.reset(), wrp.reset()
        np.testing.assert_array_equal(obs_c, obs_w)  # resets are the same numpy code
        worst = 0.0
        for _ in range(STEPS):  # each step from CPU MuJoCo's state: differences cannot accumulate
            action = np.concatenate([policy(o[None]) for o in obs_c])
            wrp.set_physics_state(cpu.physics_state)
            obs_c, term_c, _, _ = cpu.step(action)
            obs_w, term_w, _, _ = wrp.step(action)
            np.testing.assert_array_equal(term_c, term_w)
            worst = max(worst, float(np.abs(obs_c - obs_w).max()))
        assert worst < obs_tol, worst
    finally:
        cpu.close()
        wrp.close()
    # free-running: the same deterministic policy from the clip's start phases
    on_cpu = evaluate_onnx(model_dir, task, episodes=2, steps=STEPS)
    on_warp = evaluate_onnx(model_dir, dataclasses.replace(task, env=_warp(task.env)), episodes=2, steps=STEPS)
    assert on_cpu.score > 0.3  # the policy moves: a comparison of standing still would prove little
    assert abs(on_cpu.score - on_warp.score) < score_tol, (on_cpu.score, on_warp.score)


def test_warp_backend_names_a_missing_device():
    robot = load_robot_spec("go2")
    cfg = dataclasses.replace(load_env_config("go2"), backend="warp", backend_device="cuda:7")
    from trirl_ros.core.envs.locomotion import LocomotionEnv

    with pytest.raises(RuntimeError, match="env backend 'warp': no device 'cuda:7'"):
        LocomotionEnv(robot, cfg, num_envs=2)


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="backend must be one of \\['mujoco', 'warp'\\], got 'mjx'"):
        dataclasses.replace(load_env_config("go2"), backend="mjx")


def test_warp_physics_refuses_activation_states():
    import mujoco

    xml = """<mujoco><worldbody><body><joint name="j" type="hinge"/><geom size=".1"/></body></worldbody>
             <actuator><general joint="j" dyntype="filter" dynprm="0.1"/></actuator></mujoco>"""
    with pytest.raises(ValueError, match="1 actuator activation states"):
        WarpPhysics(mujoco.MjModel.from_xml_string(xml), 2, 1, device="cpu")
