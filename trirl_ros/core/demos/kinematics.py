"""Forward kinematics of dataset frames with MuJoCo (name-mapped, no assumptions on qpos layout).

A dataset stores ``qpos`` as (T, 7+J): free-joint base pose then the spec's J joints. The MuJoCo
model may hold more joints than the spec (the G1 23-DoF MJCF keeps 6 unused ones): they are held
at 0. Everything is mapped by joint name.
"""

from __future__ import annotations

import logging
from typing import Any

import mujoco
import numpy as np

log = logging.getLogger(__name__)


def load_robot(name_or_spec: Any) -> tuple[Any, mujoco.MjModel]:
    """(RobotSpec, MjModel without floor) for a robot name or spec."""
    from trirl_ros.core.robots.models import load_model
    from trirl_ros.core.robots.spec import load_robot_spec

    spec = load_robot_spec(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    return spec, load_model(spec, scene=False)


class RobotKinematics:
    """FK / finite differences for dataset arrays of one robot.

    Args:
        spec: RobotSpec (joint_names, feet_bodies, base_body).
        model: its MjModel (with or without floor).
    """

    def __init__(self, spec: Any, model: mujoco.MjModel):
        self.spec = spec
        self.model = model
        self.data = mujoco.MjData(model)
        free = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
        if len(free) != 1:
            raise ValueError(f"robot {spec.name}: expected one free joint in the MJCF, found {len(free)}")
        self.free_qadr = int(model.jnt_qposadr[free[0]])
        self.free_dadr = int(model.jnt_dofadr[free[0]])
        ids = []
        for name in spec.joint_names:
            jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
            if jid < 0:
                raise ValueError(f"robot {spec.name}: joint {name!r} not in the MJCF")
            ids.append(jid)
        self.qpos_adr = np.array([model.jnt_qposadr[j] for j in ids])
        self.dof_adr = np.array([model.jnt_dofadr[j] for j in ids])
        self.base_id = self.body_id(spec.base_body)
        self.feet_ids = [self.body_id(b) for b in spec.feet_bodies]
        self._foot_spheres = [self._foot_geoms(b) for b in self.feet_ids]

    @classmethod
    def for_robot(cls, name_or_spec: Any) -> "RobotKinematics":
        return cls(*load_robot(name_or_spec))

    def body_id(self, name: str) -> int:
        bid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)
        if bid < 0:
            raise ValueError(f"robot {self.spec.name}: body {name!r} not in the MJCF")
        return bid

    def _foot_geoms(self, body: int) -> list[tuple[int, float]]:
        """Collision spheres of a foot: (geom id, radius), on the body or on its parent within 1 cm
        of the foot origin (the Go2 foot sphere sits on the calf at the foot body's origin)."""
        m = self.model
        out = []
        parent = int(m.body_parentid[body])
        for g in range(m.ngeom):
            if m.geom_type[g] != mujoco.mjtGeom.mjGEOM_SPHERE:
                continue
            if not (m.geom_contype[g] or m.geom_conaffinity[g]):
                continue
            if m.geom_bodyid[g] == body:
                out.append((g, float(m.geom_size[g, 0])))
            elif m.geom_bodyid[g] == parent and np.linalg.norm(m.geom_pos[g] - m.body_pos[body]) < 0.01:
                out.append((g, float(m.geom_size[g, 0])))
        return out

    # ------------------------------------------------------------------ layout
    def model_qpos(self, qpos: np.ndarray) -> np.ndarray:
        """Dataset qpos (T, 7+J) -> MuJoCo qpos (T, nq); joints outside the spec at 0."""
        qpos = np.atleast_2d(qpos)
        out = np.zeros((qpos.shape[0], self.model.nq))
        out[:, self.free_qadr:self.free_qadr + 7] = qpos[:, :7]
        out[:, self.qpos_adr] = qpos[:, 7:]
        return out

    def finite_difference_qvel(self, qpos: np.ndarray, dt: float) -> np.ndarray:
        """Velocities (T, 6+J) of a uniformly sampled clip qpos (T, 7+J) by central differences
        (one-sided at the ends) with ``mj_differentiatePos``: base angular velocity in the local
        frame, base linear velocity in the world frame, as MuJoCo's free joint expects."""
        mq = self.model_qpos(qpos)
        T = mq.shape[0]
        out = np.zeros((T, 6 + len(self.dof_adr)))
        if T < 2:
            return out
        v = np.zeros(self.model.nv)
        cols = np.concatenate([np.arange(self.free_dadr, self.free_dadr + 6), self.dof_adr])
        for t in range(T):
            a, b = max(t - 1, 0), min(t + 1, T - 1)
            mujoco.mj_differentiatePos(self.model, v, (b - a) * dt, mq[a], mq[b])
            out[t] = v[cols]
        return out

    # ------------------------------------------------------------------ FK
    def _fk(self, mq: np.ndarray) -> None:
        self.data.qpos[:] = mq
        mujoco.mj_kinematics(self.model, self.data)

    def body_positions(self, qpos: np.ndarray, bodies: list[int], base_frame: bool = False) -> np.ndarray:
        """Positions (T, B, 3) of body ids, in the world or the base frame."""
        mq = self.model_qpos(qpos)
        out = np.zeros((mq.shape[0], len(bodies), 3))
        for t in range(mq.shape[0]):
            self._fk(mq[t])
            p = self.data.xpos[bodies]
            if base_frame:
                R = self.data.xmat[self.base_id].reshape(3, 3)
                p = (p - self.data.xpos[self.base_id]) @ R
            out[t] = p
        return out

    def feet_lowest_z(self, qpos: np.ndarray) -> np.ndarray:
        """Lowest point (T, F) of each foot above z=0: min over its collision spheres of
        center z - radius (the foot body origin if it has none)."""
        mq = self.model_qpos(qpos)
        out = np.zeros((mq.shape[0], len(self.feet_ids)))
        for t in range(mq.shape[0]):
            self._fk(mq[t])
            for f, (bid, spheres) in enumerate(zip(self.feet_ids, self._foot_spheres)):
                if spheres:
                    out[t, f] = min(self.data.geom_xpos[g, 2] - r for g, r in spheres)
                else:
                    out[t, f] = self.data.xpos[bid, 2]
        return out
