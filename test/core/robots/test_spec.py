"""RobotSpec / JointSpec: loading from YAML, validation, derived arrays, name-based maps."""

import dataclasses

import mujoco
import numpy as np
import pytest

from trirl_ros.core.config import ConfigError, config_path, from_dict
from trirl_ros.core.robots.models import (actuator_ids, default_qpos, joint_dof_adr, joint_qpos_adr,
                                          load_model)
from trirl_ros.core.robots.spec import JointSpec, load_robot_spec, robot_names


def test_shipped_specs_load():
    assert robot_names() == ["g1_23dof", "g1_29dof", "go2"]
    g1, g1_23, go2 = (load_robot_spec(n) for n in ("g1_29dof", "g1_23dof", "go2"))
    assert (g1.num_joints, g1_23.num_joints, go2.num_joints) == (29, 23, 12)
    assert g1.substeps == go2.substeps == 10
    # G1: policy order = motor order 0..28; Go2: FL,FR,RL,RR policy order -> FR,FL,RR,RL motors
    assert g1.motor_indices.tolist() == list(range(29))
    # G1 23-DoF: its own compact slots (Unitree's 23DOF table and unitree_sdk2 g1_23dof_example.cpp):
    # waist yaw 12, left shoulder pitch 13 ... left wrist roll 17, right shoulder pitch 18 ... 22
    assert g1_23.motor_indices.tolist() == list(range(23))
    assert [g1_23.joint_names[k] for k in (12, 13, 17, 18, 22)] == [
        "waist_yaw_joint", "left_shoulder_pitch_joint", "left_wrist_roll_joint", "right_shoulder_pitch_joint",
        "right_wrist_roll_joint"]
    assert go2.motor_indices.tolist() == [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]
    assert go2.joint_names[:3] == ("FL_hip_joint", "FL_thigh_joint", "FL_calf_joint")
    assert g1.pos_limits.shape == (29, 2)
    assert g1.kp[3] == 300 and g1.kd[3] == 8 and g1.default_pos[3] == pytest.approx(0.3)  # raised, see YAML
    with pytest.raises(ValueError, match="read-only"):
        g1.kp[0] = 1.0  # read-only arrays


def test_load_by_path_and_unknown_name():
    spec = load_robot_spec(config_path("robots", "go2.yaml"))
    assert spec.name == "go2"
    with pytest.raises(ConfigError, match="unknown robot 'h1'.*go2"):
        load_robot_spec("h1")


def _joint(**kw):
    base = dict(name="j", actuator="a", motor_index=0, default_pos=0.0, kp=1.0, kd=0.1,
                torque_limit=1.0, pos_limit=(-1.0, 1.0), vel_limit=1.0, action_scale=0.25)
    base.update(kw)
    return JointSpec(**base)


def test_joint_validation_names_problem():
    with pytest.raises(ValueError, match="default_pos 2.0 outside pos_limit"):
        _joint(default_pos=2.0)
    with pytest.raises(ValueError, match="kp and kd must be >= 0"):
        _joint(kp=-1.0)
    with pytest.raises(ValueError, match="default_pos must be finite"):
        _joint(default_pos=float("nan"))


def test_robot_validation_names_problem():
    spec = load_robot_spec("go2")
    with pytest.raises(ValueError, match="duplicate motor_index"):
        dataclasses.replace(spec, joints=spec.joints[:1] + (dataclasses.replace(spec.joints[1], motor_index=3),))
    with pytest.raises(ValueError, match="motor_index >= num_motor_slots=20"):
        dataclasses.replace(spec, joints=(dataclasses.replace(spec.joints[0], motor_index=20),))
    with pytest.raises(ValueError, match="substeps"):
        dataclasses.replace(spec, policy_hz=33.0)
    with pytest.raises(ValueError, match="msg_family"):
        dataclasses.replace(spec, msg_family="unitree_x")


def test_unknown_yaml_key_rejected():
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(JointSpec, {**dataclasses.asdict(_joint()), "stiffness": 3})


@pytest.mark.parametrize("name", ["g1_29dof", "g1_23dof", "go2"])
def test_name_maps_agree_with_mjcf(name, robots_dir):
    spec = load_robot_spec(name)
    model = load_model(spec)
    assert model.opt.timestep == spec.physics_dt
    qadr, dadr, act = joint_qpos_adr(model, spec), joint_dof_adr(model, spec), actuator_ids(model, spec)
    for k, joint in enumerate(spec.joints):
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint.name)
        assert model.jnt_qposadr[jid] == qadr[k] and model.jnt_dofadr[jid] == dadr[k]
        assert model.actuator_trnid[act[k], 0] == jid  # the actuator drives that very joint
    qpos = default_qpos(model, spec)
    np.testing.assert_allclose(qpos[qadr], spec.default_pos)
    assert 0.2 < qpos[2] < 0.9  # base height from the geometry


@pytest.mark.parametrize("name", ["g1_29dof", "g1_23dof", "go2"])
def test_scene_is_flat_ground_unless_obstacles_are_asked_for(name, robots_dir):
    """unitree_mujoco's Go2 scene.xml puts bars and a staircase 1.1-3.7 m ahead of the robot; the
    envs and sim2sim train and deploy on the floor alone. A robot placed where the stairs stand
    (x = 2.7 m, a trot clip's frame) touches nothing there."""
    spec = load_robot_spec(name)
    flat, full = load_model(spec), load_model(spec, obstacles=True)
    world = [g for g in range(flat.ngeom) if flat.geom_bodyid[g] == 0]
    assert [flat.geom_type[g] for g in world] == [mujoco.mjtGeom.mjGEOM_PLANE]
    assert flat.ngeom == full.ngeom - (8 if name == "go2" else 0)
    data = mujoco.MjData(flat)
    data.qpos[:] = default_qpos(flat, spec)
    data.qpos[0] = 2.7
    data.qpos[2] += 0.05  # lifted off the floor
    mujoco.mj_forward(flat, data)
    assert data.ncon == 0
