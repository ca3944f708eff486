"""Validate a RobotSpec against its MJCF: names, counts, order, limits, motor slots.

:func:`check_robot` returns a :class:`RobotCheck` with one row per spec joint (for the CLI table)
and a list of problems, each a sentence naming the robot, the item and both values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from trirl_ros.core.robots.models import load_model
from trirl_ros.core.robots.spec import RobotSpec

LIMIT_TOL = 1e-3  # rad / Nm: YAML values are rounded to 1e-4


@dataclass(frozen=True)
class JointRow:
    """One joint as the spec and the MJCF see it (NaN where the MJCF lacks the item)."""

    index: int
    joint: str
    actuator: str
    motor_index: int
    default_pos: float
    kp: float
    kd: float
    torque_spec: float
    torque_mjcf: float
    range_spec: tuple[float, float]
    range_mjcf: tuple[float, float]
    ok: bool


@dataclass
class RobotCheck:
    robot: str
    rows: list[JointRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _name(model, obj, i) -> str:
    return mujoco.mj_id2name(model, obj, i) or f"#{i}"


def check_robot(spec: RobotSpec, model: mujoco.MjModel | None = None) -> RobotCheck:
    """Compare ``spec`` with its MJCF (loaded from the robots dir unless ``model`` is given)."""
    result = RobotCheck(spec.name)
    bad = result.problems.append
    if model is None:
        model = load_model(spec, scene=True)
    J = mujoco.mjtObj.mjOBJ_JOINT
    A = mujoco.mjtObj.mjOBJ_ACTUATOR

    # -- names of bodies / sites
    for what, names in (("base_body", [spec.base_body]), ("feet_bodies", list(spec.feet_bodies)),
                        ("upper_body", [spec.upper_body])):
        for n in names:
            if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, n) < 0:
                bad(f"{spec.name}: {what} {n!r} is not a body of the MJCF")
    if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, spec.imu_site) < 0:
        bad(f"{spec.name}: imu_site {spec.imu_site!r} is not a site of the MJCF")
    base = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, spec.base_body)
    if base >= 0 and not any(model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE
                             for j in range(model.body_jntadr[base], model.body_jntadr[base] + model.body_jntnum[base])):
        bad(f"{spec.name}: base_body {spec.base_body!r} has no free joint in the MJCF")

    # -- counts: every actuated (non-free) MJCF joint is in the spec or in unused_joints
    mjcf_joints = [_name(model, J, j) for j in range(model.njnt) if model.jnt_type[j] != mujoco.mjtJoint.mjJNT_FREE]
    known = set(spec.joint_names) | set(spec.unused_joints)
    for n in mjcf_joints:
        if n not in known:
            bad(f"{spec.name}: MJCF joint {n!r} is not in the spec (add it to joints or unused_joints)")
    for n in spec.unused_joints:
        if n not in mjcf_joints:
            bad(f"{spec.name}: unused_joints entry {n!r} is not a joint of the MJCF")
    if spec.num_joints + len(spec.unused_joints) != len(mjcf_joints):
        bad(f"{spec.name}: joint count mismatch: spec has {spec.num_joints} joints + "
            f"{len(spec.unused_joints)} unused, MJCF has {len(mjcf_joints)} non-free joints")
    unused_act = [a for a in range(model.nu) if model.actuator_trntype[a] == mujoco.mjtTrn.mjTRN_JOINT
                  and _name(model, J, model.actuator_trnid[a, 0]) in spec.unused_joints]
    if spec.num_joints + len(unused_act) != model.nu:
        bad(f"{spec.name}: actuator count mismatch: spec drives {spec.num_joints} (+{len(unused_act)} unused), "
            f"MJCF has {model.nu} actuators")

    # -- per joint
    qadr_prev = -1
    for k, js in enumerate(spec.joints):
        problems_before = len(result.problems)
        jid = mujoco.mj_name2id(model, J, js.name)
        aid = mujoco.mj_name2id(model, A, js.actuator)
        rng = (float("nan"), float("nan"))
        tmax = float("nan")
        if jid < 0:
            bad(f"{spec.name}: joint {js.name!r} does not exist in the MJCF")
        else:
            if int(model.jnt_type[jid]) not in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
                bad(f"{spec.name}: joint {js.name!r} is not a hinge/slide joint")
            if model.jnt_qposadr[jid] <= qadr_prev:
                bad(f"{spec.name}: joint {js.name!r} breaks policy order = MJCF joint order")
            qadr_prev = max(qadr_prev, int(model.jnt_qposadr[jid]))
            if model.jnt_limited[jid]:
                rng = tuple(float(v) for v in model.jnt_range[jid])
                if not np.allclose(rng, js.pos_limit, atol=LIMIT_TOL):
                    bad(f"{spec.name}: joint {js.name!r} pos_limit {tuple(js.pos_limit)} != MJCF range "
                        f"({rng[0]:.4f}, {rng[1]:.4f})")
            else:
                bad(f"{spec.name}: joint {js.name!r} has no range in the MJCF")
        if aid < 0:
            bad(f"{spec.name}: actuator {js.actuator!r} (joint {js.name!r}) does not exist in the MJCF")
        else:
            if model.actuator_trntype[aid] != mujoco.mjtTrn.mjTRN_JOINT or model.actuator_trnid[aid, 0] != jid:
                bad(f"{spec.name}: actuator {js.actuator!r} does not drive joint {js.name!r} "
                    f"(it drives {_name(model, J, model.actuator_trnid[aid, 0])!r})")
            if model.actuator_gear[aid, 0] != 1.0:
                bad(f"{spec.name}: actuator {js.actuator!r} has gear {model.actuator_gear[aid, 0]}, expected 1")
            if model.actuator_ctrllimited[aid]:
                lo, hi = (float(v) for v in model.actuator_ctrlrange[aid])
                tmax = min(-lo, hi)
                if abs(lo + hi) > LIMIT_TOL or abs(tmax - js.torque_limit) > LIMIT_TOL:
                    bad(f"{spec.name}: joint {js.name!r} torque_limit {js.torque_limit} != MJCF ctrlrange "
                        f"({lo:g}, {hi:g}) of actuator {js.actuator!r}")
            else:
                bad(f"{spec.name}: actuator {js.actuator!r} has no ctrlrange in the MJCF")
        if js.motor_index >= spec.num_motor_slots:
            bad(f"{spec.name}: joint {js.name!r} motor_index {js.motor_index} >= num_motor_slots {spec.num_motor_slots}")
        result.rows.append(JointRow(k, js.name, js.actuator, js.motor_index, js.default_pos, js.kp, js.kd,
                                    js.torque_limit, tmax, tuple(js.pos_limit), rng,
                                    len(result.problems) == problems_before))
    slots = [j.motor_index for j in spec.joints]
    dup = sorted({s for s in slots if slots.count(s) > 1})
    if dup:
        bad(f"{spec.name}: motor slot(s) {dup} used by more than one joint")
    if abs(model.opt.timestep - spec.physics_dt) > 1e-12:
        bad(f"{spec.name}: model timestep {model.opt.timestep} != physics_dt {spec.physics_dt}")
    return result
