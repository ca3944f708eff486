"""Turning targets into per-slot :class:`LowCmd` messages (zero torque, PD to a pose, policy action,
damping). Joint vectors here are in the POLICY's order (``PolicySpec.joint_names``); robot joints the
policy does not drive hold the robot's default pose with the robot's gains whenever PD is on.
"""

from __future__ import annotations

import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd
from trirl_ros.core.deploy.policy_spec import PolicySpec
from trirl_ros.core.robots.spec import RobotSpec


class CommandShaper:
    """Builds LowCmds for one robot + policy. ``S`` = ``robot.num_motor_slots``, ``J`` = policy joints.

    Attributes:
        default_pos, kp, kd, action_scale: (J,) the policy's values; lo, hi: (J,) joint range.
    """

    def __init__(self, robot: RobotSpec, spec: PolicySpec, damping_kd_scale: float = 1.0) -> None:
        prob = spec.policy_robot(robot)
        self.slots = robot.num_motor_slots
        self.idx = prob.motor_indices  # (J,)
        self.default_pos = prob.default_pos.copy()
        self.kp = prob.kp.copy()
        self.kd = prob.kd.copy()
        self.action_scale = prob.action_scale.copy()
        self._policy_robot = prob
        self.lo = prob.pos_limits[:, 0].copy()
        self.hi = prob.pos_limits[:, 1].copy()
        self.action_clip = spec.action_clip
        # robot joints the policy does not drive: hold the robot's default with the robot's gains
        own = set(spec.joint_names)
        others = [j for j in robot.joints if j.name not in own]
        self.other_idx = np.array([j.motor_index for j in others], dtype=np.int64)
        self.other_pos = np.array([j.default_pos for j in others], dtype=np.float64)
        self.other_kp = np.array([j.kp for j in others], dtype=np.float64)
        self.other_kd = np.array([j.kd for j in others], dtype=np.float64)
        all_idx = robot.motor_indices
        self.damping_idx = all_idx
        self.damping_kd = robot.kd * damping_kd_scale

    def zero_torque(self) -> LowCmd:
        """kp = kd = tau = 0 on every slot."""
        return LowCmd.zeros(self.slots)

    def damping(self) -> LowCmd:
        """kp = 0, kd = damping kd, dq = 0 on every robot joint's slot."""
        cmd = LowCmd.zeros(self.slots)
        cmd.kd[self.damping_idx] = self.damping_kd
        return cmd

    def pd(self, target: np.ndarray) -> LowCmd:
        """PD to policy-order ``target`` (J,) rad, clipped to the joint ranges."""
        cmd = LowCmd.zeros(self.slots)
        cmd.q[self.idx] = np.clip(target, self.lo, self.hi)
        cmd.kp[self.idx] = self.kp
        cmd.kd[self.idx] = self.kd
        if self.other_idx.size:
            cmd.q[self.other_idx] = self.other_pos
            cmd.kp[self.other_idx] = self.other_kp
            cmd.kd[self.other_idx] = self.other_kd
        return cmd

    def clip_action(self, action: np.ndarray) -> np.ndarray:
        """The raw action (J,) with the spec's optional ``action_clip`` applied."""
        action = np.asarray(action, dtype=np.float64)
        if self.action_clip is not None:
            action = np.clip(action, -self.action_clip, self.action_clip)
        return action

    def action_targets(self, action: np.ndarray) -> np.ndarray:
        """(J,) joint targets ``default_pos + action_scale * action`` clipped to the joint ranges
        (:meth:`RobotSpec.action_targets`, the env's mapping)."""
        return self._policy_robot.action_targets(action)

    def policy(self, action: np.ndarray) -> LowCmd:
        """LowCmd for a (clipped) policy action (J,)."""
        return self.pd(self.action_targets(action))

    def measured(self, motor_q: np.ndarray) -> np.ndarray:
        """Policy-order joint positions (J,) from a per-slot array (S,)."""
        return np.asarray(motor_q, dtype=np.float64)[self.idx].copy()
