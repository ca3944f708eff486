"""PD position control inside MuJoCo's actuator model, so it runs at physics rate in C.

The Unitree MJCFs drive every joint with a torque ``<motor>``. :func:`apply_pd_actuators` turns
the spec's actuators into PD servos: ``ctrl`` becomes the joint target ``q*`` (rad) and MuJoCo
computes, every physics step,

    tau = kp * ctrl - kp * q - kd * qdot = kp (q* - q) - kd qdot,   clipped to ±torque_limit

(``gainprm[0] = kp``, affine bias ``biasprm[:3] = (0, -kp, -kd)``, ``forcerange``). With the
MJCFs' Euler integrator the damping term is explicit, exactly like a hand-written PD loop.
Actuators of ``spec.unused_joints`` get zero gain (zero torque).
"""

from __future__ import annotations

import mujoco
import numpy as np

from trirl_ros.core.robots.models import actuator_ids
from trirl_ros.core.robots.spec import RobotSpec


def apply_pd_actuators(model: mujoco.MjModel, spec: RobotSpec) -> np.ndarray:
    """Modify ``model`` in place (see module doc); return the (J,) actuator ids in policy order."""
    ids = actuator_ids(model, spec)
    for k, a in enumerate(ids):
        kp, kd = float(spec.kp[k]), float(spec.kd[k])
        model.actuator_gaintype[a] = mujoco.mjtGain.mjGAIN_FIXED
        model.actuator_gainprm[a, :] = 0.0
        model.actuator_gainprm[a, 0] = kp
        model.actuator_biastype[a] = mujoco.mjtBias.mjBIAS_AFFINE
        model.actuator_biasprm[a, :] = 0.0
        model.actuator_biasprm[a, :3] = (0.0, -kp, -kd)
        model.actuator_ctrllimited[a] = 0
        model.actuator_forcelimited[a] = 1
        model.actuator_forcerange[a] = (-float(spec.torque_limit[k]), float(spec.torque_limit[k]))
    others = np.setdiff1d(np.arange(model.nu), ids)
    for a in others:  # unused (dummy) joints: zero torque whatever ctrl is
        model.actuator_gainprm[a, :] = 0.0
        model.actuator_biastype[a] = mujoco.mjtBias.mjBIAS_NONE
        model.actuator_biasprm[a, :] = 0.0
    return ids
