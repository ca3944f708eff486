"""Safety state machine and command shaping, driven tick by tick with hand-made LowStates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trirl_ros.core.deploy.backends.base import LowState
from trirl_ros.core.deploy.config import CommandConfig, DeployConfig, SafetyConfig
from trirl_ros.core.deploy.controller import DeployController
from trirl_ros.core.deploy.observation import CommandFilter
from trirl_ros.core.deploy.policy_spec import spec_from_robot
from trirl_ros.core.deploy.safety import SafetyState as S
from trirl_ros.core.envs.obs_spec import ObsSpec, ObsTerm
from trirl_ros.core.robots.spec import load_robot_spec

DT = 0.02  # go2 policy at 50 Hz


@pytest.fixture(scope="module")
def robot():
    return load_robot_spec("go2")


@pytest.fixture(scope="module")
def spec(robot):
    obs = ObsSpec(terms=(ObsTerm("base_ang_vel", 0.25), ObsTerm("projected_gravity"),
                         ObsTerm("joint_pos"), ObsTerm("joint_vel", 0.05), ObsTerm("last_action")))
    return spec_from_robot(robot, obs)


def standing(robot) -> LowState:
    """The robot at its default pose, level, still."""
    low = LowState.zeros(robot.num_motor_slots)
    low.motor_q[robot.motor_indices] = robot.default_pos
    return low


class Harness:
    """A controller plus a fake clock; ``step(low)`` delivers a new state (None: nothing new)."""

    def __init__(self, robot, spec, policy=None, **safety):
        cfg = DeployConfig(safety=SafetyConfig(**{"zero_torque_s": 0.1, "ramp_s": 0.2, "hold_s": 0.1,
                                                  "auto_start": True, **safety}))
        self.calls = []

        def default_policy(obs):
            self.calls.append(obs.copy())
            return np.zeros(spec.num_joints)

        self.c = DeployController(robot, spec, policy or default_policy, cfg)
        self.t = 0.0
        self.sample = None

    def step(self, low: LowState | None):
        if low is not None:
            self.sample = (low, self.t)
        cmd = self.c.tick(self.sample, self.t)
        self.t += DT
        return cmd

    def run_to(self, state, low, max_ticks=100):
        for _ in range(max_ticks):
            self.step(low)
            if self.c.state == state:
                return
        raise AssertionError(f"never reached {state}, stuck in {self.c.state}")


def test_full_sequence_timing_and_commands(robot, spec):
    h = Harness(robot, spec)
    low = standing(robot)
    cmd = h.step(None)
    assert h.c.state == S.WAIT_STATE and not cmd.kp.any() and not cmd.kd.any()
    h.step(low)  # t = 0.02: first state
    assert h.c.state == S.ZERO_TORQUE
    states = [h.c.state]
    cmds = []
    for _ in range(30):
        cmds.append(h.step(low))
        states.append(h.c.state)
    # 0.1 s zero torque (5 ticks), 0.2 s ramp (10 ticks), 0.1 s hold (5 ticks), then policy
    order = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    assert order == [S.ZERO_TORQUE, S.RAMP, S.HOLD, S.POLICY]
    assert states.count(S.ZERO_TORQUE) == 5 and states.count(S.RAMP) == 10 and states.count(S.HOLD) == 5
    assert [(t.source, t.target) for t in h.c.fsm.transitions] == [
        (S.WAIT_STATE, S.ZERO_TORQUE), (S.ZERO_TORQUE, S.RAMP), (S.RAMP, S.HOLD), (S.HOLD, S.POLICY)]
    hold = cmds[states.index(S.HOLD)]
    idx = robot.motor_indices
    np.testing.assert_allclose(hold.q[idx], robot.default_pos)
    np.testing.assert_allclose(hold.kp[idx], robot.kp)
    np.testing.assert_allclose(hold.kd[idx], robot.kd)
    assert len(h.calls) > 0 and h.calls[0].shape == (spec.obs_dim,)


def test_ramp_interpolates_from_measured_pose(robot, spec):
    h = Harness(robot, spec)
    low = standing(robot)
    low.motor_q[robot.motor_indices] = robot.default_pos + 0.4 * np.sign(robot.default_pos + 1e-3) * -1
    low.motor_q[robot.motor_indices] = np.clip(low.motor_q[robot.motor_indices], *robot.pos_limits.T)
    start = low.motor_q[robot.motor_indices].copy()
    h.run_to(S.RAMP, low)
    first = h.c.last_cmd.q[robot.motor_indices].copy()
    np.testing.assert_allclose(first, start, atol=1e-12)  # alpha = 0 on the entry tick
    for _ in range(5):  # 5 of 10 ramp ticks later: halfway
        cmd = h.step(low)
    np.testing.assert_allclose(cmd.q[robot.motor_indices], start + 0.5 * (robot.default_pos - start), atol=1e-9)


def test_stale_state_damps_within_three_periods(robot, spec):
    h = Harness(robot, spec)
    low = standing(robot)
    h.run_to(S.POLICY, low)
    h.step(low)
    ticks = 0
    while h.c.state == S.POLICY and ticks < 10:
        cmd = h.step(None)  # no new state
        ticks += 1
    assert h.c.state == S.DAMPING and ticks == 3
    assert "stale" in h.c.fsm.transitions[-1].reason
    idx = robot.motor_indices
    assert not cmd.kp.any() and np.allclose(cmd.kd[idx], robot.kd) and not cmd.dq.any()
    h.step(low)  # damping is latched even when states come back
    assert h.c.state == S.DAMPING


def test_a_late_tick_is_an_overrun_not_a_stale_robot(robot, spec):
    """A stall of the controller's own process (one tick 200 ms late) finds the states that arrived
    meanwhile: no damping, the overrun counted. The robot going silent still damps on the 3rd tick."""
    h = Harness(robot, spec)
    low = standing(robot)
    h.run_to(S.POLICY, low)
    assert h.c.overruns == 0 and h.c.max_tick_gap == pytest.approx(DT)
    h.t += 10 * DT  # the process stalled; the robot kept publishing
    h.step(low)
    assert h.c.state == S.POLICY and h.c.overruns == 1 and h.c.max_tick_gap == pytest.approx(11 * DT)
    h.t += 10 * DT  # stalled again, and the newest state is the one from before the stall
    h.step(None)
    h.step(low)
    assert h.c.state == S.POLICY and h.c.overruns == 2
    for _ in range(2):
        h.step(None)
    assert h.c.state == S.POLICY
    h.step(None)
    assert h.c.state == S.DAMPING
    assert "no new state on 3 control ticks (60 ms)" in h.c.fsm.transitions[-1].reason


def test_bad_crc_states_are_ignored_and_counted(robot, spec):
    h = Harness(robot, spec)
    good = standing(robot)
    h.run_to(S.HOLD, good)
    for k in range(3):
        bad = dataclasses.replace(standing(robot), crc_ok=False, tick=k)
        h.step(bad)
    assert h.c.crc_errors == 3
    assert h.c.state == S.DAMPING and "stale" in h.c.fsm.transitions[-1].reason


@pytest.mark.parametrize("field,index", [("motor_q", 0), ("motor_dq", 5), ("imu_quat", 2), ("imu_gyro", 1)])
def test_nan_in_state_damps_on_the_same_tick(robot, spec, field, index):
    h = Harness(robot, spec)
    h.run_to(S.POLICY, standing(robot))
    bad = standing(robot)
    arr = getattr(bad, field)
    arr[robot.motor_indices[index] if field.startswith("motor") else index] = np.nan
    cmd = h.step(bad)
    assert h.c.state == S.DAMPING and "non-finite" in h.c.fsm.transitions[-1].reason
    assert not cmd.kp.any()


def test_nan_action_damps(robot, spec):
    h = Harness(robot, spec, policy=lambda obs: np.full(spec.num_joints, np.inf))
    h.run_to(S.DAMPING, standing(robot))
    assert h.c.fsm.transitions[-1].source == S.POLICY
    assert h.c.fsm.transitions[-1].reason == "non-finite policy action"


def test_joint_position_and_velocity_limits_damp(robot, spec):
    for field, value, word in (("motor_q", 1.0472 + 0.2, "position"), ("motor_dq", 31.0, "velocity")):
        h = Harness(robot, spec)
        h.run_to(S.HOLD, standing(robot))
        bad = standing(robot)
        getattr(bad, field)[robot.motor_indices[0]] = value  # FL hip: range +-1.0472, 30.1 rad/s
        h.step(bad)
        assert h.c.state == S.DAMPING, field
        assert word in h.c.fsm.transitions[-1].reason and "FL_hip_joint" in h.c.fsm.transitions[-1].reason
    h = Harness(robot, spec)  # inside the margin: fine
    h.run_to(S.HOLD, standing(robot))
    ok = standing(robot)
    ok.motor_q[robot.motor_indices[0]] = 1.0472 + 0.05
    h.step(ok)
    assert h.c.state == S.HOLD


def test_tilt_damps_in_policy_but_not_while_limp(robot, spec):
    angle = np.radians(robot.fall_max_tilt_deg + 5.0)
    tilted = standing(robot)
    tilted.imu_quat[:] = [np.cos(angle / 2), np.sin(angle / 2), 0.0, 0.0]  # roll about x
    h = Harness(robot, spec, zero_torque_s=1.0)
    h.step(tilted)
    h.step(tilted)
    assert h.c.state == S.ZERO_TORQUE  # lying robot may start up
    h = Harness(robot, spec)
    h.run_to(S.POLICY, standing(robot))
    h.step(tilted)
    assert h.c.state == S.DAMPING and "tilt" in h.c.fsm.transitions[-1].reason


def test_operator_stop_and_manual_start(robot, spec):
    h = Harness(robot, spec, auto_start=False)
    low = standing(robot)
    for _ in range(20):
        h.step(low)
    assert h.c.state == S.ZERO_TORQUE  # waits for the operator
    h.c.request_start()
    h.step(low)
    assert h.c.state == S.RAMP
    h.run_to(S.HOLD, low)
    for _ in range(20):
        h.step(low)
    assert h.c.state == S.HOLD
    h.c.request_start()
    h.step(low)
    assert h.c.state == S.POLICY
    h.c.request_stop()
    cmd = h.step(low)
    assert h.c.state == S.DAMPING and h.c.fsm.transitions[-1].reason == "operator stop"
    assert not cmd.kp.any()


def test_policy_targets_are_clipped_to_joint_limits(robot, spec):
    big = np.full(spec.num_joints, 100.0)
    h = Harness(robot, spec, policy=lambda obs: big)
    h.run_to(S.POLICY, standing(robot))
    q = h.c.last_cmd.q[robot.motor_indices]
    np.testing.assert_allclose(q, robot.pos_limits[:, 1])
    np.testing.assert_allclose(h.c.obs.last_action, big)  # the raw action is observed next tick


def test_command_filter_clamps_rate_limits_and_times_out():
    f = CommandFilter(CommandConfig(max=(1.0, 0.5, 1.0), max_rate=(1.0, 1.0, 2.0), timeout_s=0.5))
    f.update(0.0)
    f.set_target((3.0, -3.0, 0.5), 0.0)
    np.testing.assert_allclose(f.update(0.1), [0.1, -0.1, 0.2])
    np.testing.assert_allclose(f.update(0.4), [0.4, -0.4, 0.5])
    f.set_target((3.0, -3.0, 0.5), 0.4)
    np.testing.assert_allclose(f.update(0.8), [0.8, -0.5, 0.5])  # vy clamped to max 0.5
    np.testing.assert_allclose(f.update(1.0), [0.6, -0.3, 0.1])  # 0.6 s since the command: timed out
    np.testing.assert_allclose(f.update(5.0), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        f.set_target((np.nan, 0, 0), 5.0)


def test_a_velocity_spike_passes_a_sustained_runaway_trips(robot, spec):
    """The deploy configs' over-speed rule: 1.1 x the limit on 3 consecutive ticks."""
    slot = robot.motor_indices[2]  # FL calf: 15.7 rad/s, x 1.1 = 17.27
    h = Harness(robot, spec, vel_limit_factor=1.1, vel_limit_ticks=3)
    h.run_to(S.POLICY, standing(robot))
    for dq in (18.7, 0.0, 18.7, 3.0, -18.5, -18.5, 0.0):  # impact spikes, never 3 in a row
        low = standing(robot)
        low.motor_dq[slot] = dq
        h.step(low)
    assert h.c.state == S.POLICY
    for tick in range(3):  # a runaway: beyond the limit for 3 ticks (40 ms spanned at 50 Hz)
        low = standing(robot)
        low.motor_dq[slot] = 20.0
        h.step(low)
        assert h.c.state == (S.DAMPING if tick == 2 else S.POLICY)
    assert "FL_calf_joint velocity 20.00" in h.c.fsm.transitions[-1].reason
    assert "3 control tick(s)" in h.c.fsm.transitions[-1].reason
    with pytest.raises(ValueError, match="vel_limit_ticks must be >= 1"):
        SafetyConfig(vel_limit_ticks=0)
