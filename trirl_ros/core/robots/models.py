"""Locating and loading the Unitree MJCF models; name-based index maps between spec and model.

The MJCF files are not vendored. They are found in the folder named by ``TRIRL_ROBOTS_DIR``
(default: ``../shared/robots`` next to the checkout, when present), laid out like
unitree_mujoco's ``unitree_robots/`` folder.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import mujoco
import numpy as np

from trirl_ros.core.config import package_root
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)

ENV_VAR = "TRIRL_ROBOTS_DIR"
EXPECTED_FILES = ("unitree_g1/g1_29dof.xml", "unitree_g1/g1_23dof.xml", "unitree_go2/go2.xml")
GUIDANCE = (
    f"Set {ENV_VAR} to a folder laid out like unitree_mujoco's unitree_robots/ folder, containing "
    + ", ".join(EXPECTED_FILES)
    + " with their scene files and meshes. Get it from https://github.com/unitreerobotics/unitree_mujoco "
    "(folder unitree_robots/, BSD-3-Clause license), e.g. "
    "`git clone https://github.com/unitreerobotics/unitree_mujoco && "
    f"export {ENV_VAR}=$PWD/unitree_mujoco/unitree_robots`."
)


class RobotsDirError(FileNotFoundError):
    """The robot model folder is missing or incomplete; the message says what and where to get it."""


def robots_dir() -> Path:
    """The folder holding the Unitree MJCF models (checked for the expected layout)."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        origin = f"{ENV_VAR}={env}"
    else:
        path = package_root().parent / "shared" / "robots"
        origin = f"{ENV_VAR} is not set and the default {path}"
    if not path.is_dir():
        raise RobotsDirError(f"robot models folder not found ({origin} does not exist). {GUIDANCE}")
    missing = [f for f in EXPECTED_FILES if not (path / f).is_file()]
    if missing:
        raise RobotsDirError(f"robot models folder {path} ({origin}) lacks {missing}. {GUIDANCE}")
    return path


def model_path(spec: RobotSpec, scene: bool = True) -> Path:
    """Absolute path of the spec's scene (robot + floor) or bare robot MJCF."""
    path = robots_dir() / (spec.scene if scene else spec.mjcf)
    if not path.is_file():
        raise RobotsDirError(f"{spec.name}: model file {path} not found. {GUIDANCE}")
    return path


def load_model(spec: RobotSpec, scene: bool = True, obstacles: bool = False) -> mujoco.MjModel:
    """Compile the MJCF for ``spec`` (with floor when ``scene``); timestep set to spec.physics_dt.

    The scene's world body keeps only its floor plane(s) unless ``obstacles``: unitree_mujoco's Go2
    ``scene.xml`` places two 8 cm bars at x = 1.2 and 1.6 m and a staircase from x = 2.1 m (to 0.92 m
    high, |y| < 2 m) in front of the robot for its stair demo. Training, evaluation and sim2sim run
    on flat ground: with the obstacles every Go2 episode that trotted forward met the bars within
    1 s, and mocap frames beyond x = 1.1 m put the robot inside them (docs/imitation.md)."""
    path = model_path(spec, scene)
    try:
        if scene and not obstacles:  # compiled from the spec: the same model arrays as from_xml_path
            mjspec = mujoco.MjSpec.from_file(str(path))
            for geom in [g for g in mjspec.worldbody.geoms if g.type != mujoco.mjtGeom.mjGEOM_PLANE]:
                mjspec.delete(geom)
            model = mjspec.compile()
        else:
            model = mujoco.MjModel.from_xml_path(str(path))
    except ValueError as exc:
        raise ValueError(f"{spec.name}: cannot compile {path}: {exc}") from exc
    if abs(model.opt.timestep - spec.physics_dt) > 1e-12:
        log.info("%s: MJCF timestep %g overridden by spec physics_dt %g", spec.name,
                 model.opt.timestep, spec.physics_dt)
    model.opt.timestep = spec.physics_dt
    return model


def _ids(model: mujoco.MjModel, obj: mujoco.mjtObj, names, kind: str, robot: str) -> np.ndarray:
    ids = np.array([mujoco.mj_name2id(model, obj, n) for n in names], dtype=np.int64)
    missing = [n for n, i in zip(names, ids) if i < 0]
    if missing:
        raise ValueError(f"{robot}: {kind}(s) {missing} not found in the MJCF")
    return ids


def joint_ids(model: mujoco.MjModel, spec: RobotSpec) -> np.ndarray:
    """(J,) MuJoCo joint ids of the spec's joints, policy order."""
    return _ids(model, mujoco.mjtObj.mjOBJ_JOINT, spec.joint_names, "joint", spec.name)


def joint_qpos_adr(model: mujoco.MjModel, spec: RobotSpec) -> np.ndarray:
    """(J,) qpos addresses of the spec's joints, policy order."""
    return model.jnt_qposadr[joint_ids(model, spec)].astype(np.int64)


def joint_dof_adr(model: mujoco.MjModel, spec: RobotSpec) -> np.ndarray:
    """(J,) qvel/dof addresses of the spec's joints, policy order."""
    return model.jnt_dofadr[joint_ids(model, spec)].astype(np.int64)


def actuator_ids(model: mujoco.MjModel, spec: RobotSpec) -> np.ndarray:
    """(J,) actuator ids (ctrl indices) driving the spec's joints, policy order."""
    return _ids(model, mujoco.mjtObj.mjOBJ_ACTUATOR, spec.actuator_names, "actuator", spec.name)


def body_id(model: mujoco.MjModel, name: str) -> int:
    i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
    if i < 0:
        raise ValueError(f"body {name!r} not found in the MJCF")
    return int(i)


def site_id(model: mujoco.MjModel, name: str) -> int:
    i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, name)
    if i < 0:
        raise ValueError(f"site {name!r} not found in the MJCF")
    return int(i)


def _free_joint(model: mujoco.MjModel, spec: RobotSpec) -> int:
    """Joint id of the base body's free joint."""
    b = body_id(model, spec.base_body)
    for j in range(model.body_jntadr[b], model.body_jntadr[b] + model.body_jntnum[b]):
        if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            return j
    raise ValueError(f"{spec.name}: base body {spec.base_body!r} has no free joint")


def free_joint_qpos_adr(model: mujoco.MjModel, spec: RobotSpec) -> int:
    """qpos address of the base body's free joint (7 values: x y z qw qx qy qz)."""
    return int(model.jnt_qposadr[_free_joint(model, spec)])


def free_joint_dof_adr(model: mujoco.MjModel, spec: RobotSpec) -> int:
    """qvel address of the base body's free joint (6 values: world linear, body angular velocity)."""
    return int(model.jnt_dofadr[_free_joint(model, spec)])


def default_qpos(model: mujoco.MjModel, spec: RobotSpec) -> np.ndarray:
    """(nq,) standing configuration: default joint pose, upright base with the lowest collision
    geom resting on the floor (z = 0), other joints at qpos0."""
    qpos = model.qpos0.copy()
    fa = free_joint_qpos_adr(model, spec)
    qpos[joint_qpos_adr(model, spec)] = spec.default_pos
    qpos[fa:fa + 7] = [0, 0, 0, 1, 0, 0, 0]
    qpos[fa + 2] = standing_height(model, spec, qpos)
    return qpos


def standing_height(model: mujoco.MjModel, spec: RobotSpec, qpos: np.ndarray) -> float:
    """Base height (m) that puts the lowest colliding robot geom of ``qpos`` (nq,) on z = 0
    (+1 mm), for an upright base; computed from the geometry, not a hard-coded number."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    fa = free_joint_qpos_adr(model, spec)
    data.qpos[fa + 2] = 0.0
    mujoco.mj_kinematics(model, data)
    base = body_id(model, spec.base_body)
    lowest = np.inf
    for g in range(model.ngeom):
        b = model.geom_bodyid[g]
        if model.body_rootid[b] != base or (model.geom_contype[g] == 0 and model.geom_conaffinity[g] == 0):
            continue
        lowest = min(lowest, _geom_min_z(model, data, g))
    if not np.isfinite(lowest):
        raise ValueError(f"{spec.name}: no colliding geoms under base body {spec.base_body!r}")
    return float(-lowest + 1e-3)


def _geom_min_z(model: mujoco.MjModel, data: mujoco.MjData, g: int) -> float:
    """Lowest world z of geom ``g`` (exact for spheres/capsules/boxes/cylinders/meshes)."""
    pos = data.geom_xpos[g]
    rot = data.geom_xmat[g].reshape(3, 3)
    size = model.geom_size[g]
    t = model.geom_type[g]
    if t == mujoco.mjtGeom.mjGEOM_SPHERE:
        return pos[2] - size[0]
    if t == mujoco.mjtGeom.mjGEOM_CAPSULE:
        return pos[2] - abs(rot[2, 2]) * size[1] - size[0]
    if t == mujoco.mjtGeom.mjGEOM_CYLINDER:
        return pos[2] - abs(rot[2, 2]) * size[1] - size[0] * np.hypot(rot[2, 0], rot[2, 1])
    if t == mujoco.mjtGeom.mjGEOM_BOX:
        return pos[2] - float(np.abs(rot[2, :]) @ size)
    if t == mujoco.mjtGeom.mjGEOM_MESH:
        m = model.geom_dataid[g]
        start, n = model.mesh_vertadr[m], model.mesh_vertnum[m]
        verts = model.mesh_vert[start:start + n]  # in the geom frame
        return float((verts @ rot.T)[:, 2].min() + pos[2])
    if t == mujoco.mjtGeom.mjGEOM_ELLIPSOID:
        return pos[2] - float(np.sqrt(((rot[2, :] * size) ** 2).sum()))
    return pos[2] - model.geom_rbound[g]
