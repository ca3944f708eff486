"""Base linear velocity from what a legged robot measures: IMU + leg kinematics, a linear Kalman filter.

LowState carries no base velocity; policies that observe ``base_lin_vel`` get it from here on the
robot and, by default, in sim2sim (so sim2sim shows what the hardware will see).

The filter (the velocity part of the linear KF legged stacks use, e.g. Bledt et al. 2018, MIT Cheetah 3):

* state: base linear velocity v (3,) in the world frame (yaw included, from the IMU quaternion R);
* predict: ``v += (R a_imu + g) dt`` with the accelerometer's specific force a_imu (base frame),
  covariance ``P += (accel_noise dt)^2 I``;
* update, once per foot in stance: a foot on the ground does not move, so the base moves at
  ``v = -R (omega x r_i + J_i(q) qdot)``, with r_i the foot's position in the base frame and J_i its
  joint Jacobian (computed with MuJoCo on the robot's own model, base fixed at the origin);
  measurement noise ``leg_velocity_noise^2 I``;
* contact: a foot is in stance when it is within ``contact_height`` of the lowest foot, heights
  measured along gravity from the base (R r_i), and moves vertically relative to the base by at most
  ``stance_max_vz`` (a foot that lands or lifts off is not a fixed point): the kinematic contact
  test for robots without foot force sensors (the G1; the Go2's foot_force is not in the LowState
  the deploy core reads).

The controller folds in each new state it sees (one per control period); the filter is exact for
feet that stick, and a foot that slides biases it by its slip velocity.

Output: the velocity in the base frame, ``R^T v`` (3,), what the env's ``base_lin_vel`` term is.
"""

from __future__ import annotations

import mujoco
import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.deploy.backends.base import LowState
from trirl_ros.core.deploy.estimator_config import EstimatorConfig
from trirl_ros.core.robots import models
from trirl_ros.core.robots.spec import RobotSpec

class BaseVelocityEstimator:
    """See module doc. ``model``: the robot's MjModel (default: loaded from the robot's MJCF)."""

    def __init__(self, robot: RobotSpec, cfg: EstimatorConfig | None = None,
                 model: mujoco.MjModel | None = None) -> None:
        self.cfg = cfg or EstimatorConfig()
        self.robot = robot
        self.model = model if model is not None else models.load_model(robot, scene=False)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._qadr = models.joint_qpos_adr(m, robot)  # (J,) in robot.joints order
        self._vadr = models.joint_dof_adr(m, robot)
        self._slots = robot.motor_indices.astype(np.int64)  # (J,)
        self._fa = models.free_joint_qpos_adr(m, robot)
        self._fd = models.free_joint_dof_adr(m, robot)
        self._feet = np.array([models.body_id(m, b) for b in robot.feet_bodies], dtype=np.int64)
        self.data.qpos[:] = models.default_qpos(m, robot)
        self._radius = self._rolling_radii()  # (F,) m
        self._jacp = np.zeros((3, m.nv))
        self._gravity = np.array(m.opt.gravity, dtype=np.float64)  # (3,) world, the model's own
        self.reset()

    def reset(self) -> None:
        """Robot at rest: v = 0 with a covariance of (0.1 m/s)^2."""
        self.v = np.zeros(3)
        self.P = np.eye(3) * 0.01
        #: (F,) bool, the feet used as stance in the last update
        self.stance = np.zeros(len(self._feet), dtype=bool)

    def _rolling_radii(self) -> np.ndarray:
        """(F,) radius of each foot's sphere (a sphere geom of the foot body or of the body it is
        welded to, centred within 1 cm of the foot's origin: the Go2's 22 mm feet), else 0 (flat
        soles). A sphere rolls in stance: its centre moves, the point touching the ground does not."""
        m, d = self.model, self.data
        mujoco.mj_kinematics(m, d)
        out = np.zeros(len(self._feet))
        for k, b in enumerate(self._feet):
            for g in range(m.ngeom):
                if (m.geom_bodyid[g] in (b, m.body_parentid[b]) and m.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE
                        and np.linalg.norm(d.geom_xpos[g] - d.xpos[b]) < 0.01):
                    out[k] = m.geom_size[g][0]
        return out

    def foot_kinematics(self, low: LowState) -> tuple[np.ndarray, np.ndarray]:
        """Feet positions (F, 3) and velocities (F, 3) relative to the base, in the base frame,
        from joint q / qdot and the gyro (base fixed at the origin, upright). The velocity is the
        one of the point a rolling foot touches the ground with (its radius below its centre along
        gravity, from the IMU quaternion)."""
        m, d = self.model, self.data
        down = Q.to_matrix(Q.normalize(np.asarray(low.imu_quat, dtype=np.float64))).T @ np.array([0.0, 0.0, -1.0])
        d.qpos[self._fa:self._fa + 7] = (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
        d.qpos[self._qadr] = low.motor_q[self._slots]
        d.qvel[:] = 0.0
        d.qvel[self._fd + 3:self._fd + 6] = low.imu_gyro  # free joint angular velocity: body frame
        d.qvel[self._vadr] = low.motor_dq[self._slots]
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        pos = d.xpos[self._feet].copy()
        vel = np.zeros((len(self._feet), 3))
        for k, b in enumerate(self._feet):  # the translational Jacobian at the foot body's origin
            mujoco.mj_jac(m, d, self._jacp, None, pos[k] + self._radius[k] * down, int(b))
            vel[k] = self._jacp @ d.qvel
        return pos, vel

    def update(self, low: LowState, dt: float) -> np.ndarray:
        """Fold in one LowState, ``dt`` s after the previous one; returns v (3,) in the base frame."""
        cfg = self.cfg
        R = Q.to_matrix(Q.normalize(np.asarray(low.imu_quat, dtype=np.float64)))
        if dt > 0:  # predict with the accelerometer (specific force, base frame)
            self.v = self.v + (R @ low.imu_acc + self._gravity) * dt
            self.P = self.P + np.eye(3) * (cfg.accel_noise * dt) ** 2
        pos, vel = self.foot_kinematics(low)
        heights = (pos @ R.T)[:, 2]  # along world z, relative to the base
        rel_vz = (vel @ R.T)[:, 2]  # foot vertical velocity relative to the base (world z)
        self.stance = (heights <= heights.min() + cfg.contact_height) & (np.abs(rel_vz) <= cfg.stance_max_vz)
        if cfg.innovation_gate is not None and self.stance.any():
            implied = -(vel @ R.T)  # (F, 3) base velocity each foot implies if it stands still
            near = self.stance & (np.linalg.norm(implied - self.v, axis=1) <= cfg.innovation_gate)
            self.stance = near if near.any() else self.stance
        r_meas = cfg.leg_velocity_noise ** 2
        for k in np.flatnonzero(self.stance):  # sequential scalar-covariance updates, H = I
            z = -(R @ vel[k])
            gain = self.P @ np.linalg.inv(self.P + np.eye(3) * r_meas)
            self.v = self.v + gain @ (z - self.v)
            self.P = (np.eye(3) - gain) @ self.P
        return R.T @ self.v


__all__ = ["BaseVelocityEstimator", "EstimatorConfig"]
