"""The observation contract shared by the env, the exporter and the deploy stack.

An :class:`ObsSpec` is an ordered list of named terms (each scaled, optionally clipped) and a
history length. :func:`compute_frame` turns a batched :class:`RobotState` (N robots) into one
observation frame ``(N, frame_dim)``; :class:`ObsHistory` stacks the last ``history`` frames,
newest first, into the policy input ``(N, frame_dim * history)``.

Conventions (identical in sim and on the robot):
- ``base_quat`` (w, x, y, z) is the orientation of the base in the world frame, as MuJoCo's
  free-joint qpos and the Unitree IMU report it: ``v_world = R(q) @ v_base``.
- ``base_ang_vel`` / ``base_lin_vel`` are expressed in the base (IMU) frame.
- ``projected_gravity`` is the unit gravity direction in the base frame, ``R(q)^T @ (0, 0, -1)``.
- ``base_roll_pitch`` is (roll, pitch) of the ZYX (yaw-pitch-roll) Euler angles of ``base_quat``.
- ``joint_pos`` is ``q - default_pos`` in policy order; ``joint_vel`` is ``qdot``.
- ``last_action`` is the previous raw policy action; ``velocity_command`` is (vx, vy, wz).
Each term is ``clip(value * scale, -clip, clip)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.robots.spec import RobotSpec

# name -> dimension (None = number of joints J)
TERM_DIMS: dict[str, int | None] = {
    "base_lin_vel": 3,
    "base_ang_vel": 3,
    "projected_gravity": 3,
    "base_roll_pitch": 2,
    "joint_pos": None,
    "joint_vel": None,
    "last_action": None,
    "velocity_command": 3,
}
TERM_NAMES: tuple[str, ...] = tuple(TERM_DIMS)


@dataclass(frozen=True)
class ObsTerm:
    name: str  # one of TERM_NAMES
    scale: float = 1.0
    clip: float | None = None

    def __post_init__(self) -> None:
        if self.name not in TERM_DIMS:
            raise ValueError(f"unknown observation term {self.name!r}; known terms: {list(TERM_NAMES)}")
        if not np.isfinite(self.scale):
            raise ValueError(f"observation term {self.name!r}: scale must be finite, got {self.scale}")
        if self.clip is not None and not (np.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"observation term {self.name!r}: clip must be a positive number or null")


@dataclass(frozen=True)
class ObsSpec:
    terms: tuple[ObsTerm, ...]
    history: int = 1  # stack of the last `history` frames, newest first

    def __post_init__(self) -> None:
        if not self.terms:
            raise ValueError("observation spec needs at least one term")
        names = [t.name for t in self.terms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"observation term(s) {dup} listed more than once")
        if self.history < 1:
            raise ValueError(f"observation history must be >= 1, got {self.history}")

    def term_dims(self, num_joints: int) -> list[int]:
        """Dimension of each term, in order."""
        return [num_joints if TERM_DIMS[t.name] is None else TERM_DIMS[t.name] for t in self.terms]

    def frame_dim(self, num_joints: int) -> int:
        return sum(self.term_dims(num_joints))

    def dim(self, num_joints: int) -> int:
        """Policy input size: frame_dim * history."""
        return self.frame_dim(num_joints) * self.history

    def term_slices(self, num_joints: int) -> dict[str, slice]:
        """Slice of each term inside one frame."""
        out, start = {}, 0
        for t, d in zip(self.terms, self.term_dims(num_joints)):
            out[t.name] = slice(start, start + d)
            start += d
        return out


@dataclass
class RobotState:
    """Batched robot state (numpy, leading dim N; N = 1 on the robot). Joint arrays in policy order.

    joint_pos (N, J) rad; joint_vel (N, J) rad/s; base_quat (N, 4) w, x, y, z (base in world);
    base_ang_vel (N, 3) rad/s, base frame; base_lin_vel (N, 3) m/s, base frame (NaN allowed when
    unknown and unused); last_action (N, J); command (N, 3) vx, vy, wz (zeros when unused).
    """

    joint_pos: np.ndarray
    joint_vel: np.ndarray
    base_quat: np.ndarray
    base_ang_vel: np.ndarray
    base_lin_vel: np.ndarray
    last_action: np.ndarray
    command: np.ndarray

    @property
    def num(self) -> int:
        return int(np.shape(self.joint_pos)[0])


def quat_rotate_inverse(quat: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """R(q)^T v for quat (N, 4) w, x, y, z (normalised here) and vec (N, 3) or (3,): world -> base.
    Returns (N, 3)."""
    return Q.rotate_inv(Q.normalize(quat), vec)


def roll_pitch(quat: np.ndarray) -> np.ndarray:
    """(N, 2) roll, pitch (rad) of the ZYX Euler angles of quat (N, 4) w, x, y, z."""
    return Q.roll_pitch_yaw(quat)[..., :2]


def _check(name: str, arr: np.ndarray, n: int, d: int) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.shape != (n, d):
        raise ValueError(f"RobotState.{name} has shape {arr.shape}, expected ({n}, {d})")
    return arr


def compute_frame(spec: ObsSpec, robot: RobotSpec, state: RobotState) -> np.ndarray:
    """One observation frame ``(N, spec.frame_dim(J))`` float32 from ``state`` (see module doc).

    Raises ValueError naming the field on a wrong shape, or the term on a non-finite value.
    """
    n, j = state.num, robot.num_joints
    parts = []
    for term in spec.terms:
        name = term.name
        if name == "base_lin_vel":
            value = _check("base_lin_vel", state.base_lin_vel, n, 3)
        elif name == "base_ang_vel":
            value = _check("base_ang_vel", state.base_ang_vel, n, 3)
        elif name == "projected_gravity":
            value = quat_rotate_inverse(_check("base_quat", state.base_quat, n, 4), (0.0, 0.0, -1.0))
        elif name == "base_roll_pitch":
            value = roll_pitch(_check("base_quat", state.base_quat, n, 4))
        elif name == "joint_pos":
            value = _check("joint_pos", state.joint_pos, n, j) - robot.default_pos
        elif name == "joint_vel":
            value = _check("joint_vel", state.joint_vel, n, j)
        elif name == "last_action":
            value = _check("last_action", state.last_action, n, j)
        elif name == "velocity_command":
            value = _check("command", state.command, n, 3)
        else:  # pragma: no cover - ObsTerm validates names
            raise ValueError(f"unknown observation term {name!r}")
        value = np.asarray(value, dtype=np.float64) * term.scale
        if term.clip is not None:
            value = np.clip(value, -term.clip, term.clip)
        if not np.isfinite(value).all():
            bad = np.unique(np.nonzero(~np.isfinite(value))[0])
            raise ValueError(f"observation term {name!r} is not finite for robot(s) {bad.tolist()}")
        parts.append(value)
    return np.concatenate(parts, axis=-1).astype(np.float32)


class ObsHistory:
    """Stack of the last ``history`` frames per robot, newest first.

    ``push(frame (N, F)) -> (N, F * history)``. After construction and after ``reset(mask)``
    the next pushed frame of those robots fills their whole history (no zeros, no stale data).
    """

    def __init__(self, num_envs: int, frame_dim: int, history: int) -> None:
        if num_envs < 1 or frame_dim < 1 or history < 1:
            raise ValueError(f"ObsHistory needs positive sizes, got N={num_envs} F={frame_dim} H={history}")
        self.num_envs, self.frame_dim, self.history = num_envs, frame_dim, history
        self._buf = np.zeros((num_envs, history, frame_dim), dtype=np.float32)
        self._fresh = np.ones(num_envs, dtype=bool)

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Mark robots ``mask`` (N,) bool (all when None) so their next frame fills the history."""
        if mask is None:
            self._fresh[:] = True
        else:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(f"ObsHistory.reset mask has shape {mask.shape}, expected ({self.num_envs},)")
            self._fresh |= mask

    def push(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame, dtype=np.float32)
        if frame.shape != (self.num_envs, self.frame_dim):
            raise ValueError(f"ObsHistory.push frame has shape {frame.shape}, "
                             f"expected ({self.num_envs}, {self.frame_dim})")
        if self.history > 1:
            self._buf[:, 1:] = self._buf[:, :-1].copy()
        self._buf[:, 0] = frame
        if self._fresh.any():
            self._buf[self._fresh] = frame[self._fresh, None, :]
            self._fresh[:] = False
        return self._buf.reshape(self.num_envs, -1).copy()

    def fill(self, ids: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """Fill the whole history of robots ``ids`` (M,) with ``frame`` (M, F) (after a reset);
        return their stacked observation (M, F * history). Other robots are untouched."""
        ids = np.asarray(ids, dtype=np.int64)
        frame = np.asarray(frame, dtype=np.float32)
        if frame.shape != (len(ids), self.frame_dim):
            raise ValueError(f"ObsHistory.fill frame has shape {frame.shape}, expected ({len(ids)}, {self.frame_dim})")
        self._buf[ids] = frame[:, None, :]
        self._fresh[ids] = False
        return self._buf[ids].reshape(len(ids), -1).copy()

    def peek(self) -> np.ndarray:
        """Current stacked observation (N, F * history) without pushing."""
        return self._buf.reshape(self.num_envs, -1).copy()
