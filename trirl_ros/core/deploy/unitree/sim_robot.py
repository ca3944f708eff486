"""A MuJoCo robot behind Unitree's DDS low-level interface, like unitree_mujoco's bridge.

Every physics step (``RobotSpec.physics_dt``, 2 ms = 500 Hz):

1. take the newest ``rt/lowcmd`` (dropped and counted when its CRC is wrong, or -- ``unitree_hg`` --
   when its ``mode_machine`` differs from the robot's, as the real G1 does);
2. per motor slot ``s`` of each joint: ``tau = tau_ff + kp (q* - q) + kd (dq* - dq)``, clipped to
   the actuator's torque range (no command yet: zero torque);
3. ``mj_step``;
4. publish ``rt/lowstate``: motor q/dq/tau_est per slot, IMU quaternion (w first), gyro and
   accelerometer from the MJCF's ``imu_quat``/``imu_gyro``/``imu_acc`` sensors, tick (ms), CRC.

:meth:`SimRobot.run` paces steps against deadlines ``t0 + k * dt / speed`` (no sleep-after-work
drift; a step more than ``max_lag`` late resynchronises and counts as an overrun), or runs as fast as
it can (``speed=None``) for tests. An optional *elastic band* (``hold_seconds``) holds the base at
its start pose for the first seconds of sim time, like a gantry, so a humanoid does not collapse
while the deploy side is still in zero-torque / ramp.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import mujoco
import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd, LowState
from trirl_ros.core.deploy.unitree import dds, idl
from trirl_ros.core.deploy.unitree.cdr import CdrCodec
from trirl_ros.core.deploy.unitree.layouts import LOWCMD_DTYPES, LOWSTATE_DTYPES, NUM_SLOTS, crc_ok
from trirl_ros.core.deploy.unitree.messages import lowstate_to_record, record_to_lowcmd
from trirl_ros.core.robots import models
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)

BAND_STIFFNESS = 2000.0  # N/m       elastic band, position
BAND_DAMPING = 200.0  # N s/m
BAND_ROT_STIFFNESS = 500.0  # Nm/rad  and orientation
BAND_ROT_DAMPING = 50.0  # Nm s/rad


@dataclass
class SimStats:
    """Counters of a :class:`SimRobot` (all monotonic)."""

    steps: int = 0
    states_published: int = 0
    cmds_received: int = 0  # valid commands applied
    cmd_crc_errors: int = 0
    cmd_mode_machine_rejected: int = 0
    cmd_decode_errors: int = 0
    overruns: int = 0  # steps that started more than max_lag late (schedule resynchronised)
    lateness_s: list[float] = field(default_factory=list)  # per paced step, start - deadline


class SimRobot:
    """MuJoCo simulation of one robot speaking LowCmd/LowState over DDS.

    Args:
        robot: the robot spec (joint -> motor slot map, MJCF, physics_dt).
        config: DDS configuration (domain, interface); e.g. ``DdsConfig.loopback(domain)``.
        mode_machine: ``unitree_hg`` robot type code reported in LowState; commands must echo it.
        hold_seconds: sim seconds during which an elastic band holds the base (0 = none).
        check_crc: drop LowCmds whose CRC does not match (the real robots do).
        qpos: (nq,) start configuration; default standing pose on the floor
            (:func:`trirl_ros.core.robots.models.default_qpos`).
    """

    def __init__(self, robot: RobotSpec, config: dds.DdsConfig, *, mode_machine: int = 1,
                 hold_seconds: float = 0.0, check_crc: bool = True, qpos: np.ndarray | None = None,
                 lowstate_topic: str = dds.LOWSTATE_TOPIC, lowcmd_topic: str = dds.LOWCMD_TOPIC) -> None:
        self.robot = robot
        self.family = robot.msg_family
        self.num_slots = NUM_SLOTS[self.family]
        if robot.num_motor_slots != self.num_slots:
            raise ValueError(f"{robot.name}: num_motor_slots {robot.num_motor_slots} != {self.num_slots} "
                             f"of {self.family}")
        self.mode_machine = int(mode_machine)
        self.hold_seconds = float(hold_seconds)
        self.check_crc = check_crc
        self.model = models.load_model(robot, scene=True)
        self.data = mujoco.MjData(self.model)
        self.dt = float(self.model.opt.timestep)
        self._qadr = models.joint_qpos_adr(self.model, robot)  # (J,)
        self._vadr = models.joint_dof_adr(self.model, robot)  # (J,)
        self._act = models.actuator_ids(self.model, robot)  # (J,)
        self._slots = robot.motor_indices.astype(np.int64)  # (J,)
        lo, hi = self.model.actuator_ctrlrange[self._act].T.copy()
        limited = self.model.actuator_ctrllimited[self._act].astype(bool)
        self._tau_lo = np.where(limited, lo, -robot.torque_limit)  # (J,)
        self._tau_hi = np.where(limited, hi, robot.torque_limit)  # (J,)
        self._base = models.body_id(self.model, robot.base_body)
        self._free = models.free_joint_qpos_adr(self.model, robot)
        free_joint = int(np.flatnonzero(self.model.jnt_qposadr == self._free)[0])
        self._free_dof = int(self.model.jnt_dofadr[free_joint])  # linear vel (world), angular (local)
        self._imu = self._imu_sensors()
        self.reset(qpos)
        self._state_codec = CdrCodec(LOWSTATE_DTYPES[self.family])
        self._cmd_codec = CdrCodec(LOWCMD_DTYPES[self.family])
        self._state_rec = np.zeros((), dtype=LOWSTATE_DTYPES[self.family])
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._participant = dds.open_participant(config)
        try:
            self._writer = dds.RawWriter(self._participant, lowstate_topic, idl.lowstate_type(self.family))
            self._reader = dds.RawReader(self._participant, lowcmd_topic, idl.lowcmd_type(self.family), depth=4)
        except Exception:
            dds.close_participant(self._participant)
            raise
        self._closed = False
        log.info("sim robot %s up: %s on DDS domain %d, dt %.4f s", robot.name, self.family,
                 config.domain_id, self.dt)

    # -- model helpers ----------------------------------------------------------------------
    def _imu_sensors(self) -> dict[str, tuple[int, int]] | None:
        """sensordata (address, dim) of imu_quat / imu_gyro / imu_acc, or None to compute them."""
        found = {}
        for name in ("imu_quat", "imu_gyro", "imu_acc"):
            sid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SENSOR, name)
            if sid < 0:
                log.warning("%s: MJCF has no sensor %r; IMU computed from site %r", self.robot.name, name,
                            self.robot.imu_site)
                return None
            found[name] = (int(self.model.sensor_adr[sid]), int(self.model.sensor_dim[sid]))
        return found

    def reset(self, qpos: np.ndarray | None = None) -> None:
        """Put the robot at ``qpos`` (nq,) (default: standing pose) at rest, sim time 0, no command
        in force (zero torque until the next LowCmd), counters cleared."""
        mujoco.mj_resetData(self.model, self.data)
        q0 = models.default_qpos(self.model, self.robot) if qpos is None else np.asarray(qpos, float)
        if q0.shape != (self.model.nq,):
            raise ValueError(f"qpos must have shape ({self.model.nq},), got {q0.shape}")
        self.data.qpos[:] = q0
        mujoco.mj_forward(self.model, self.data)
        self._band_pos = self.data.qpos[self._free:self._free + 3].copy()
        self._band_quat = self.data.qpos[self._free + 3:self._free + 7].copy()
        self.stats = SimStats()
        self._cmd = LowCmd.zeros(self.num_slots)
        self._have_cmd = False

    @property
    def sim_time(self) -> float:
        """Simulated seconds since reset."""
        return float(self.data.time)

    def base_position(self) -> np.ndarray:
        """(3,) world position of the base body [m]."""
        return self.data.xpos[self._base].copy()

    def base_quat(self) -> np.ndarray:
        """(4,) w, x, y, z orientation of the base body (world <- base)."""
        return self.data.xquat[self._base].copy()

    def fallen(self) -> bool:
        """Base below ``fall_min_height`` or tilted beyond ``fall_max_tilt_deg`` (spec limits)."""
        z_axis_z = self.data.xmat[self._base].reshape(3, 3)[2, 2]
        tilt = np.degrees(np.arccos(np.clip(z_axis_z, -1.0, 1.0)))
        return bool(self.data.xpos[self._base][2] < self.robot.fall_min_height
                    or tilt > self.robot.fall_max_tilt_deg)

    def low_state(self) -> LowState:
        """The current state as a :class:`LowState` (S slots; unused slots zero)."""
        q = np.zeros(self.num_slots)
        dq = np.zeros(self.num_slots)
        tau = np.zeros(self.num_slots)
        q[self._slots] = self.data.qpos[self._qadr]
        dq[self._slots] = self.data.qvel[self._vadr]
        tau[self._slots] = self.data.actuator_force[self._act]
        if self._imu is not None:
            sd = self.data.sensordata
            (qa, _), (ga, _), (aa, _) = (self._imu[n] for n in ("imu_quat", "imu_gyro", "imu_acc"))
            quat, gyro, acc = sd[qa:qa + 4], sd[ga:ga + 3], sd[aa:aa + 3]
        else:
            quat, gyro, acc = self._imu_from_site()
        tick = int(round(self.data.time * 1000.0))
        return LowState(q, dq, tau, quat.copy(), gyro.copy(), acc.copy(), tick=tick)

    def _imu_from_site(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sid = models.site_id(self.model, self.robot.imu_site)
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[sid])
        vel = np.zeros(6)
        mujoco.mj_objectVelocity(self.model, self.data, mujoco.mjtObj.mjOBJ_SITE, sid, vel, 1)
        rot = self.data.site_xmat[sid].reshape(3, 3)
        acc = rot.T @ np.array([0.0, 0.0, 9.81])
        return quat, vel[:3], acc

    # -- one step ---------------------------------------------------------------------------
    def _receive(self) -> None:
        for data, _ in self._reader.take(8):
            try:
                rec = self._cmd_codec.decode(data)
            except ValueError:
                self.stats.cmd_decode_errors += 1
                continue
            if self.check_crc and not crc_ok(rec):
                self.stats.cmd_crc_errors += 1
                log.warning("LowCmd with bad CRC dropped (%d so far)", self.stats.cmd_crc_errors)
                continue
            if self.family == "unitree_hg" and int(rec["mode_machine"]) != self.mode_machine:
                self.stats.cmd_mode_machine_rejected += 1
                if self.stats.cmd_mode_machine_rejected in (1, 100, 10000):
                    log.warning("LowCmd with mode_machine %d != robot's %d ignored (%d so far)",
                                int(rec["mode_machine"]), self.mode_machine,
                                self.stats.cmd_mode_machine_rejected)
                continue
            self._cmd = record_to_lowcmd(rec)
            self._have_cmd = True
            self.stats.cmds_received += 1

    def joint_torques(self, cmd: LowCmd) -> np.ndarray:
        """(J,) PD + feed-forward torques of ``cmd`` at the current state, clipped to the actuators."""
        s = self._slots
        q = self.data.qpos[self._qadr]
        dq = self.data.qvel[self._vadr]
        tau = cmd.tau[s] + cmd.kp[s] * (cmd.q[s] - q) + cmd.kd[s] * (cmd.dq[s] - dq)
        return np.clip(tau, self._tau_lo, self._tau_hi)

    def _apply_band(self) -> None:
        xfrc = self.data.xfrc_applied[self._base]
        if self.data.time >= self.hold_seconds:
            xfrc[:] = 0.0
            return
        pos = self.data.qpos[self._free:self._free + 3]
        vel = self.data.qvel[self._free_dof:self._free_dof + 3]
        xfrc[:3] = BAND_STIFFNESS * (self._band_pos - pos) - BAND_DAMPING * vel
        quat = self.data.qpos[self._free + 3:self._free + 7]
        err = np.zeros(3)
        mujoco.mju_subQuat(err, self._band_quat, quat)  # rotation vector current -> target (local)
        rot = self.data.xmat[self._base].reshape(3, 3)
        angvel_world = rot @ self.data.qvel[self._free_dof + 3:self._free_dof + 6]
        xfrc[3:] = BAND_ROT_STIFFNESS * (rot @ err) - BAND_ROT_DAMPING * angvel_world

    def step(self) -> None:
        """One physics step: apply the newest valid LowCmd, integrate, publish LowState."""
        self._receive()
        ctrl = self.data.ctrl
        ctrl[:] = 0.0
        if self._have_cmd:
            ctrl[self._act] = self.joint_torques(self._cmd)
        if self.hold_seconds > 0:
            self._apply_band()
        mujoco.mj_step(self.model, self.data)
        self.stats.steps += 1
        self.publish_state()

    def publish_state(self) -> None:
        """Publish the current state on ``rt/lowstate`` (CRC sealed)."""
        rec = lowstate_to_record(self.low_state(), self.family, mode_machine=self.mode_machine,
                                 out=self._state_rec)
        self._writer.write(self._state_codec.encode(rec))
        self.stats.states_published += 1

    # -- loops ------------------------------------------------------------------------------
    def run(self, seconds: float | None = None, *, speed: float | None = 1.0, max_lag: float = 0.05,
            stop: threading.Event | None = None) -> SimStats:
        """Step until ``seconds`` of sim time have passed (None: until stopped).

        Args:
            speed: real-time factor for deadline pacing (1.0 = real time); None = free-running.
            max_lag: a step starting later than this behind its deadline resynchronises the
                schedule (counted in ``stats.overruns``) instead of bursting to catch up.
            stop: event that ends the loop (also :meth:`stop`).
        """
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be > 0 or None, got {speed}")
        stop = stop or self._stop
        end = None if seconds is None else self.data.time + seconds - 0.5 * self.dt
        period = None if speed is None else self.dt / speed
        t0 = time.monotonic()
        k = 0
        while not stop.is_set() and (end is None or self.data.time < end):
            if period is not None:
                deadline = t0 + k * period
                now = time.monotonic()
                if now < deadline:
                    time.sleep(deadline - now)
                    now = time.monotonic()
                late = now - deadline
                if late > max_lag:
                    self.stats.overruns += 1
                    t0 += late
                if len(self.stats.lateness_s) < 1_000_000:
                    self.stats.lateness_s.append(late)
            self.step()
            k += 1
        return self.stats

    def start(self, seconds: float | None = None, **run_kwargs) -> "SimRobot":
        """Run :meth:`run` in a background thread (stop with :meth:`stop`)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("sim robot already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, args=(seconds,), kwargs=run_kwargs,
                                        name=f"sim-robot-{self.robot.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop a background run and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        """Stop and delete the DDS participant (idempotent)."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        dds.close_participant(self._participant)
        log.info("sim robot %s closed after %d steps (%.2f s sim), %d commands, %d bad CRC, %d overruns",
                 self.robot.name, self.stats.steps, self.sim_time, self.stats.cmds_received,
                 self.stats.cmd_crc_errors, self.stats.overruns)

    def __enter__(self) -> "SimRobot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
