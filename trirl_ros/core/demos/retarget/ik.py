"""Damped-least-squares inverse kinematics on a MuJoCo model (point and orientation tasks).

Each frame solves  min_v  sum_i w_i |p_i(q (+) v) - p_i*|^2 + w_o |log(R*^T R(q (+) v))|^2 + lambda |v|^2
by Gauss-Newton steps with the Jacobians of ``mj_jac``; joint values are clipped to their limits
after every step and only the free joint and the robot spec's joints move.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np


@dataclass(frozen=True)
class PointTask:
    """Bring point ``local`` (3,) of body ``body`` (id) to a target, with weight ``weight``."""

    body: int
    local: tuple[float, float, float]
    weight: float


class DampedLeastSquaresIK:
    """IK for one model.

    Args:
        model: MjModel. active_dofs: (K,) dof indices allowed to move (free joint + spec joints).
        qpos_limits: list of (qpos index, low, high) clipped after each step.
        damping: lambda of the damped least squares. max_iters / tol: per frame.
    """

    def __init__(self, model, active_dofs, qpos_limits, damping=1e-3, max_iters=20, tol=1e-5):
        self.model = model
        self.data = mujoco.MjData(model)
        self.active = np.asarray(active_dofs)
        self.lim_idx = np.array([i for i, _, _ in qpos_limits], dtype=int)
        self.lim_lo = np.array([lo for _, lo, _ in qpos_limits])
        self.lim_hi = np.array([hi for _, _, hi in qpos_limits])
        self.damping = damping
        self.max_iters = max_iters
        self.tol = tol
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def point_world(self, task: PointTask) -> np.ndarray:
        d = self.data
        return d.xpos[task.body] + d.xmat[task.body].reshape(3, 3) @ np.asarray(task.local)

    def solve(
        self,
        qpos: np.ndarray,
        tasks: list[PointTask],
        targets: np.ndarray,
        orient: list[tuple[int, np.ndarray, float]] = (),
    ) -> tuple[np.ndarray, np.ndarray]:
        """Solve one frame from the initial guess ``qpos`` (nq,).

        targets: (P, 3) world positions for ``tasks``; orient: [(body id, target rotation (3,3),
        weight)]. Returns (qpos (nq,), per-point position errors (P,) in m).
        """
        m, d = self.model, self.data
        q = qpos.copy()
        n_rows = 3 * len(tasks) + 3 * len(orient)
        for _ in range(self.max_iters):
            d.qpos[:] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            J = np.zeros((n_rows, len(self.active)))
            e = np.zeros(n_rows)
            row = 0
            for task, target in zip(tasks, targets):
                p = self.point_world(task)
                mujoco.mj_jac(m, d, self._jacp, None, p, task.body)
                sw = np.sqrt(task.weight)
                J[row:row + 3] = sw * self._jacp[:, self.active]
                e[row:row + 3] = sw * (p - target)
                row += 3
            for body, R_target, weight in orient:
                R = d.xmat[body].reshape(3, 3)
                err = _log_so3(R_target.T @ R)  # in the body frame
                mujoco.mj_jacBody(m, d, None, self._jacr, body)
                sw = np.sqrt(weight)
                J[row:row + 3] = sw * (R.T @ self._jacr)[:, self.active]
                e[row:row + 3] = sw * err
                row += 3
            H = J.T @ J + self.damping * np.eye(len(self.active))
            dv_active = -np.linalg.solve(H, J.T @ e)
            dv = np.zeros(m.nv)
            dv[self.active] = dv_active
            mujoco.mj_integratePos(m, q, dv, 1.0)
            q[self.lim_idx] = np.clip(q[self.lim_idx], self.lim_lo, self.lim_hi)
            if np.max(np.abs(dv_active)) < self.tol:
                break
        d.qpos[:] = q
        mujoco.mj_kinematics(m, d)
        errs = np.array([np.linalg.norm(self.point_world(t) - p) for t, p in zip(tasks, targets)])
        return q, errs


def _log_so3(R: np.ndarray) -> np.ndarray:
    """Rotation vector (3,) of a rotation matrix."""
    c = np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(c)
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    if angle < 1e-6:
        return 0.5 * w
    if np.pi - angle < 1e-4:  # near pi: axis from the diagonal
        axis = np.sqrt(np.maximum((np.diag(R) + 1.0) / 2.0, 0.0))
        return angle * axis
    return angle / (2.0 * np.sin(angle)) * w
