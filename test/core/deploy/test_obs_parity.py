"""The observation contract end to end: for the same physical state, the training env
(:class:`LocomotionEnv`, MuJoCo free-joint qpos/qvel) and the deploy stack (:class:`SimPhysics` ->
:class:`LowState` motor slots + IMU sensors -> :class:`ObservationBuilder`) must build the same
policy input, term by term, for every robot.

``base_lin_vel`` is not in a LowState: the deploy side gets the simulator's ground truth here (on the
real robot it needs an estimator; see ObservationBuilder).
"""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np
import pytest

from trirl_ros.core.deploy.commands import CommandShaper
from trirl_ros.core.deploy.observation import ObservationBuilder
from trirl_ros.core.deploy.policy_spec import spec_from_robot
from trirl_ros.core.deploy.sim_physics import SimPhysics
from trirl_ros.core.envs.config import load_env_config
from trirl_ros.core.envs.locomotion import LocomotionEnv
from trirl_ros.core.envs.obs_spec import TERM_NAMES, ObsSpec, ObsTerm
from trirl_ros.core.robots import models
from trirl_ros.core.robots.spec import load_robot_spec, robot_names

COMMAND = (0.6, -0.2, 0.4)  # vx, vy, wz fed to velocity_command on both sides

#: every term, distinct scales, two frames of history: a term built differently cannot hide
ALL_TERMS = ObsSpec(terms=tuple(ObsTerm(n, scale=1.0 + 0.25 * k) for k, n in enumerate(TERM_NAMES)), history=2)


def _quat_from_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """(4,) w, x, y, z of R = Rz(yaw) Ry(pitch) Rx(roll)."""
    cr, sr, cp, sp, cy, sy = (np.cos(roll / 2), np.sin(roll / 2), np.cos(pitch / 2), np.sin(pitch / 2),
                              np.cos(yaw / 2), np.sin(yaw / 2))
    return np.array([cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy,
                     cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy])


def _moving_state(robot, model, rng):
    """A tilted, yawed, moving robot near its standing pose: qpos (nq,), qvel (nv,)."""
    qpos = models.default_qpos(model, robot)
    qvel = np.zeros(model.nv)
    fa = models.free_joint_qpos_adr(model, robot)
    qpos[fa + 2] += 0.02
    qpos[fa + 3:fa + 7] = _quat_from_rpy(0.12, -0.18, 0.9)
    qadr, dadr = models.joint_qpos_adr(model, robot), models.joint_dof_adr(model, robot)
    qpos[qadr] = np.clip(robot.default_pos + rng.uniform(-0.15, 0.15, robot.num_joints),
                         robot.pos_limits[:, 0], robot.pos_limits[:, 1])
    qvel[:6] = (0.5, -0.3, 0.1, 0.4, -0.6, 0.8)  # free joint: world linear, body angular velocity
    qvel[dadr] = rng.uniform(-1.0, 1.0, robot.num_joints)
    return qpos, qvel


@pytest.mark.parametrize("obs_name", ["env_config", "all_terms"])
@pytest.mark.parametrize("name", robot_names())
def test_env_and_deploy_build_the_same_observation(name, obs_name, robots_dir):
    robot = load_robot_spec(name)
    cfg = load_env_config(name)
    obs_spec = cfg.obs if obs_name == "env_config" else ALL_TERMS
    cfg = dataclasses.replace(cfg, obs=obs_spec, command=COMMAND, terminate_on_fall=False)
    spec = spec_from_robot(robot, obs_spec)
    rng = np.random.default_rng(3)

    with LocomotionEnv(robot, cfg, num_envs=1, seed=0) as env:
        qpos, qvel = _moving_state(robot, env.model, rng)
        env_obs = [env.reset_to(qpos[None], qvel[None])[0]]
        actions = rng.uniform(-0.5, 0.5, (3, robot.num_joints))
        for a in actions:
            env_obs.append(env.step(a[None].astype(np.float32))[0][0])

    sim = SimPhysics(robot, qpos)
    sim.data.qvel[:] = qvel
    mujoco.mj_forward(sim.model, sim.data)
    builder = ObservationBuilder(robot, spec)
    shaper = CommandShaper(robot, spec)
    builder.reset()
    dep_obs = [builder.build(sim.low_state(), np.array(COMMAND), sim.base_lin_vel())]
    for a in actions:
        a = shaper.clip_action(a.astype(np.float32))
        builder.record_action(a)
        sim.set_command(shaper.policy(a))
        sim.step(robot.substeps)
        dep_obs.append(builder.build(sim.low_state(), np.array(COMMAND), sim.base_lin_vel()))

    assert env_obs[0].shape == dep_obs[0].shape == (obs_spec.dim(robot.num_joints),)
    frame = obs_spec.frame_dim(robot.num_joints)
    for step, (e, d) in enumerate(zip(env_obs, dep_obs)):
        for term, sl in obs_spec.term_slices(robot.num_joints).items():
            for h in range(obs_spec.history):
                k = slice(sl.start + h * frame, sl.stop + h * frame)
                np.testing.assert_allclose(d[k], e[k], rtol=0, atol=2e-5,
                                           err_msg=f"{name} step {step} term {term} history frame {h}")
    # the state was really moving: a wrong frame or axis convention cannot pass by being zero
    slices = obs_spec.term_slices(robot.num_joints)
    for term in ("base_ang_vel", "base_lin_vel", "projected_gravity", "base_roll_pitch"):
        if term in slices:
            assert np.abs(env_obs[0][slices[term]]).min() > 0.01, term
