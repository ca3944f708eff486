"""The one simulated robot behind every sim backend: MuJoCo physics whose motors run the Unitree
motor drivers' PD law on a :class:`LowCmd`, producing :class:`LowState`.

Used by the in-process backend (:mod:`.backends.mujoco_direct`, lock-step or real time) and by the
DDS sim robot (:mod:`.unitree.sim_robot`, ``rt/lowcmd`` -> ``rt/lowstate``), so both simulate the
same robot, bit for bit.

Every physics step (``RobotSpec.physics_dt``, 2 ms = 500 Hz), per motor slot ``s`` of joint ``j``:

    tau_j = clip(tau_ff[s] + kp[s] (q*[s] - q_j) + kd[s] (dq*[s] - dq_j), -limit_j, +limit_j)

with ``limit_j`` the spec's ``torque_limit`` (intersected with the MJCF ``ctrlrange``, so the
reported torque is the one MuJoCo applies). The torque goes to the MJCF's raw ``<motor>`` actuators
(gear 1); without a command every motor gives zero torque. This is the same law as the training
env's PD servos (:mod:`trirl_ros.core.envs.pd`, ``tau = kp (q* - q) - kd qdot`` inside MuJoCo's
actuator model): with a LowCmd carrying the spec's gains, ``dq* = 0``, ``tau_ff = 0``, the two
trajectories agree to ~1e-10 m (measured over 10 s of the G1 standing).

The step is split as ``mj_step2`` (integrate with the torques of the current state) then
``mj_step1`` (positions, velocities and the position/velocity sensors of the new state), so
:meth:`low_state` reports joint q/dq and the IMU (``framequat``/``gyro`` sensors on the spec's
``imu_site``) of the same instant; the accelerometer is one step (2 ms) older, as it needs the
acceleration stage.

An optional *elastic band* (``hold_seconds``) holds the base at its start pose for the first sim
seconds, like a gantry (humanoid set-up on hardware).
"""

from __future__ import annotations

import logging
import math

import mujoco
import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd, LowState
from trirl_ros.core.robots import models
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)

BAND_STIFFNESS = 2000.0  # N/m       elastic band, position
BAND_DAMPING = 200.0  # N s/m
BAND_ROT_STIFFNESS = 500.0  # Nm/rad  and orientation
BAND_ROT_DAMPING = 50.0  # Nm s/rad

_IMU_SENSORS = (("quat", mujoco.mjtSensor.mjSENS_FRAMEQUAT, 4), ("gyro", mujoco.mjtSensor.mjSENS_GYRO, 3),
                ("acc", mujoco.mjtSensor.mjSENS_ACCELEROMETER, 3))


class SimPhysics:
    """MuJoCo model of ``robot`` (scene with floor) driven by LowCmds.

    Args:
        robot: the robot spec (joint -> motor slot map, gains not used: the LowCmd carries them).
        qpos: (nq,) start configuration; default: standing pose on the floor
            (:func:`trirl_ros.core.robots.models.default_qpos`).
        hold_seconds: sim seconds during which the elastic band holds the base (0 = none).

    Ground-truth fall tracking since :meth:`reset`: :attr:`min_height`, :attr:`max_tilt_deg`,
    :meth:`fell`, :meth:`distance`.
    """

    def __init__(self, robot: RobotSpec, qpos: np.ndarray | None = None, hold_seconds: float = 0.0) -> None:
        if hold_seconds < 0:
            raise ValueError(f"hold_seconds must be >= 0, got {hold_seconds}")
        self.robot = robot
        self.num_slots = robot.num_motor_slots
        self.hold_seconds = float(hold_seconds)
        self.model = models.load_model(robot, scene=True)
        self.data = mujoco.MjData(self.model)
        self.dt = float(self.model.opt.timestep)
        m = self.model
        self._qadr = models.joint_qpos_adr(m, robot)  # (J,)
        self._vadr = models.joint_dof_adr(m, robot)  # (J,)
        self._act = models.actuator_ids(m, robot)  # (J,)
        self._slots = robot.motor_indices.astype(np.int64)  # (J,)
        if self._slots.max(initial=-1) >= self.num_slots:
            raise ValueError(f"{robot.name}: motor_index beyond num_motor_slots {self.num_slots}")
        lim = robot.torque_limit
        limited = m.actuator_ctrllimited[self._act].astype(bool)
        lo, hi = m.actuator_ctrlrange[self._act].T
        self.tau_lo = np.where(limited, np.maximum(-lim, lo), -lim)  # (J,)
        self.tau_hi = np.where(limited, np.minimum(lim, hi), lim)  # (J,)
        self._base = models.body_id(m, robot.base_body)
        self._free = models.free_joint_qpos_adr(m, robot)
        free_joint = int(np.flatnonzero(m.jnt_qposadr == self._free)[0])
        self._free_dof = int(m.jnt_dofadr[free_joint])  # linear vel (world), angular (local)
        self._imu = self._imu_sensors()
        self.torque = np.zeros(len(self._act))  # (J,) torques applied in the last step
        self.reset(qpos)

    def _imu_sensors(self) -> dict[str, int]:
        """sensordata address of the framequat / gyro / accelerometer sensors on ``imu_site``."""
        m, site = self.model, models.site_id(self.model, self.robot.imu_site)
        found = {}
        for key, kind, dim in _IMU_SENSORS:
            for s in range(m.nsensor):
                if (m.sensor_type[s] == kind and m.sensor_objtype[s] == mujoco.mjtObj.mjOBJ_SITE
                        and m.sensor_objid[s] == site and m.sensor_dim[s] == dim):
                    found[key] = int(m.sensor_adr[s])
                    break
            else:
                raise ValueError(f"{self.robot.name}: the MJCF has no {kind.name} sensor on imu_site "
                                 f"{self.robot.imu_site!r} (needed for the LowState IMU)")
        return found

    # -- state ------------------------------------------------------------------------------
    def reset(self, qpos: np.ndarray | None = None) -> None:
        """Put the robot at ``qpos`` (nq,) (default: standing pose) at rest, sim time 0, no command
        (zero torque), fall tracking restarted."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        q0 = models.default_qpos(m, self.robot) if qpos is None else np.asarray(qpos, dtype=np.float64)
        if q0.shape != (m.nq,):
            raise ValueError(f"qpos must have shape ({m.nq},), got {q0.shape}")
        if not np.isfinite(q0).all():
            raise ValueError("qpos contains NaN or inf")
        d.qpos[:] = q0
        mujoco.mj_forward(m, d)
        self._band_pos = d.qpos[self._free:self._free + 3].copy()
        self._band_quat = d.qpos[self._free + 3:self._free + 7].copy()
        self.command: LowCmd | None = None
        self.torque[:] = 0.0
        self.start_xy = self.base_position()[:2]
        self.min_height = float(self.base_position()[2])
        self.max_tilt_deg = self.tilt_deg()

    @property
    def sim_time(self) -> float:
        """Simulated seconds since :meth:`reset`."""
        return float(self.data.time)

    def set_command(self, cmd: LowCmd | None) -> None:
        """The LowCmd in force from the next step on (None: zero torque)."""
        if cmd is not None and cmd.num_slots != self.num_slots:
            raise ValueError(f"LowCmd has {cmd.num_slots} slots, {self.robot.name} has {self.num_slots}")
        self.command = cmd

    def joint_torques(self, cmd: LowCmd | None) -> np.ndarray:
        """(J,) motor torques of ``cmd`` at the current state (module doc formula); zeros for None."""
        if cmd is None:
            return np.zeros(len(self._act))
        s = self._slots
        q = self.data.qpos[self._qadr]
        dq = self.data.qvel[self._vadr]
        tau = cmd.tau[s] + cmd.kp[s] * (cmd.q[s] - q) + cmd.kd[s] * (cmd.dq[s] - dq)
        return np.clip(tau, self.tau_lo, self.tau_hi)

    def step(self, n: int = 1) -> None:
        """Advance ``n`` physics steps with the command in force."""
        m, d = self.model, self.data
        for _ in range(n):
            self.torque[:] = self.joint_torques(self.command)
            d.ctrl[:] = 0.0
            d.ctrl[self._act] = self.torque
            if self.hold_seconds > 0:
                self._apply_band()
            mujoco.mj_step2(m, d)
            mujoco.mj_step1(m, d)
            self.min_height = min(self.min_height, float(d.xpos[self._base][2]))
            self.max_tilt_deg = max(self.max_tilt_deg, self.tilt_deg())

    def _apply_band(self) -> None:
        d = self.data
        xfrc = d.xfrc_applied[self._base]
        if d.time >= self.hold_seconds:
            xfrc[:] = 0.0
            return
        pos = d.qpos[self._free:self._free + 3]
        vel = d.qvel[self._free_dof:self._free_dof + 3]
        xfrc[:3] = BAND_STIFFNESS * (self._band_pos - pos) - BAND_DAMPING * vel
        err = np.zeros(3)
        mujoco.mju_subQuat(err, self._band_quat, d.qpos[self._free + 3:self._free + 7])  # local rotvec
        rot = d.xmat[self._base].reshape(3, 3)
        angvel_world = rot @ d.qvel[self._free_dof + 3:self._free_dof + 6]
        xfrc[3:] = BAND_ROT_STIFFNESS * (rot @ err) - BAND_ROT_DAMPING * angvel_world

    def low_state(self) -> LowState:
        """The current state as a :class:`LowState` of S slots (unused slots zero): motor q, dq,
        applied torque; IMU quaternion (w, x, y, z), gyro (site frame), accelerometer; tick in ms."""
        S, s, d = self.num_slots, self._slots, self.data
        q, dq, tau = np.zeros(S), np.zeros(S), np.zeros(S)
        q[s] = d.qpos[self._qadr]
        dq[s] = d.qvel[self._vadr]
        tau[s] = self.torque
        sd, a = d.sensordata, self._imu
        return LowState(q, dq, tau, sd[a["quat"]:a["quat"] + 4].copy(), sd[a["gyro"]:a["gyro"] + 3].copy(),
                        sd[a["acc"]:a["acc"] + 3].copy(), tick=int(round(d.time * 1000.0)), crc_ok=True)

    # -- ground truth (not available on a real robot) ------------------------------------------
    def base_position(self) -> np.ndarray:
        """(3,) world position of the base body [m]."""
        return self.data.xpos[self._base].copy()

    def base_quat(self) -> np.ndarray:
        """(4,) w, x, y, z orientation of the base body (world <- base)."""
        return self.data.xquat[self._base].copy()

    def base_lin_vel(self) -> np.ndarray:
        """(3,) base linear velocity in the base frame."""
        rot = self.data.xmat[self._base].reshape(3, 3)
        return rot.T @ self.data.qvel[self._free_dof:self._free_dof + 3]

    def tilt_deg(self) -> float:
        """Angle (deg) between the base z axis and world z."""
        zz = float(self.data.xmat[self._base][8])
        return math.degrees(math.acos(max(-1.0, min(1.0, zz))))

    def fell(self) -> bool:
        """Since reset, the base went below ``fall_min_height`` or tilted beyond ``fall_max_tilt_deg``."""
        return self.min_height < self.robot.fall_min_height or self.max_tilt_deg > self.robot.fall_max_tilt_deg

    def distance(self) -> float:
        """Metres the base moved in the xy plane since reset (start to now)."""
        return float(np.linalg.norm(self.base_position()[:2] - self.start_xy))
