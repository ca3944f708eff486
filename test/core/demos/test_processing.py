"""Processing: finite-difference velocities (MuJoCo free-joint convention), resampling with slerp,
ground correction by FK (checked against MuJoCo's own collision distance), expert transitions."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.demos.processing import build_clip, expert_transitions, ground_correct, resample
from trirl_ros.core.envs.obs_spec import ObsSpec, ObsTerm


def _spin_clip(kin, hz=50.0, n=20):
    """Base rolled 90 deg about x, yawing at 0.5 rad/s about world z, moving at (1, 2, 0) m/s;
    every joint ramps at 0.3 rad/s from the default pose."""
    t = np.arange(n) / hz
    quat = Q.mul(Q.from_axis_angle([0, 0, 1], 0.5 * t), Q.from_axis_angle([1, 0, 0], np.full(n, np.pi / 2)))
    pos = np.stack([1.0 * t, 2.0 * t, np.full(n, 0.8)], axis=1)
    joints = np.asarray(kin.spec.default_pos)[None, :] + 0.3 * t[:, None] * 0.1
    return build_clip(kin, pos, quat, joints, hz, "spin", {})


def test_finite_difference_velocity_is_local_angular_velocity(g1_kin):
    ds = _spin_clip(g1_kin)
    # hand computation: omega_world = (0, 0, 0.5); R = Rz Rx(90): R^T e_z = Rx(90)^T e_z = (0, 1, 0)
    np.testing.assert_allclose(ds.qvel[:, 3:6], np.tile([0.0, 0.5, 0.0], (20, 1)), atol=1e-9)
    np.testing.assert_allclose(ds.qvel[:, 0:3], np.tile([1.0, 2.0, 0.0], (20, 1)), atol=1e-9)
    np.testing.assert_allclose(ds.qvel[:, 6:], 0.03, atol=1e-9)


def test_resample_keeps_common_frames_and_slerps_between(g1_kin, loco_ds):
    out = resample(loco_ds, 50.0, g1_kin)
    assert out.frequency == 50.0 and out.num_frames == 50  # 499 periods of 2 ms -> 0.998 s -> 50 frames
    np.testing.assert_allclose(out.qpos, loco_ds.qpos[::10][:50], atol=1e-9)
    # slerp: doubling the rate of a steady yaw puts the new frame halfway in angle
    ds = _spin_clip(g1_kin, hz=10.0, n=5)
    up = resample(ds, 20.0, g1_kin)
    assert up.num_frames == 9
    mid_yaw = Q.yaw(Q.mul(up.qpos[1, 3:7], Q.conj(Q.from_axis_angle([1, 0, 0], np.pi / 2))))
    assert mid_yaw == pytest.approx(0.5 * 0.05, abs=1e-9)
    assert np.linalg.norm(up.qpos[:, 3:7], axis=1) == pytest.approx(np.ones(9))


def _floor_distance(kin, qpos):
    """Per frame, MuJoCo's own distance between the floor and the closest foot collision geom."""
    from trirl_ros.core.robots.models import load_model

    model = load_model(kin.spec, scene=True)
    data = mujoco.MjData(model)
    floor = [g for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE][0]
    feet = {mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in kin.spec.feet_bodies}
    foot_geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] in feet and model.geom_contype[g]]
    assert foot_geoms, "the G1 feet carry collision geoms"
    out = []
    for q in kin.model_qpos(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        mujoco.mj_collision(model, data)  # not needed for distance, but keeps data consistent
        out.append(min(mujoco.mj_geomDistance(model, data, floor, g, 1.0, None) for g in foot_geoms))
    return np.array(out)


@pytest.mark.parametrize("clip, mode", [("asap1", "frame"), ("asap2", "frame"), ("loco", "clip")])
def test_ground_correction_puts_a_foot_on_the_floor(clip, mode, g1_kin, asap_ds, loco_ds, mocap_dir):
    from trirl_ros.core.demos.importers import ImportOptions, import_motion

    if clip == "asap2":
        ds = import_motion(mocap_dir / "g1" / "asap_g1_walk_level2.pkl", g1_kin.spec,
                           opts=ImportOptions(trust_pickle=True), kin=g1_kin)
    else:
        ds = asap_ds if clip == "asap1" else loco_ds
    before = _floor_distance(g1_kin, ds.qpos)
    out, report = ground_correct(ds, g1_kin, mode=mode)
    after = _floor_distance(g1_kin, out.qpos)
    within = np.mean(np.abs(after) <= 0.01)
    assert within >= 0.9, f"{clip}: lowest foot within 1 cm of the floor in only {within:.0%} of frames"
    assert np.mean(np.abs(before) <= 0.01) < 0.9  # the raw clips float / sink: correction was needed
    assert report.contact_fraction[0] == pytest.approx(within, abs=0.02)
    # the reported mean offset is the mean shift of the base height
    assert report.offsets[0] == pytest.approx(np.mean(out.qpos[:, 2] - ds.qpos[:, 2]), abs=1e-9)
    np.testing.assert_array_equal(out.qpos[:, 7:], ds.qpos[:, 7:])


def test_expert_transitions_use_the_env_obs_spec(go2_kin, mocap_dir):
    from trirl_ros.core.demos.importers import import_motion

    ds = import_motion(mocap_dir / "go2" / "amp_go2_trot0.txt", "go2", kin=go2_kin)
    robot = go2_kin.spec
    spec = ObsSpec(terms=(ObsTerm("base_ang_vel", 0.25), ObsTerm("joint_pos"), ObsTerm("joint_vel", 0.05)),
                   history=2)
    tr = expert_transitions(ds, robot, spec, go2_kin)
    at50 = resample(ds, robot.policy_hz, go2_kin)
    F = spec.frame_dim(12)
    assert F == 27 and tr.obs.shape == (at50.num_frames - 1, 2 * F) and tr.obs.dtype == np.float32
    assert not tr.absorbing.any() and (tr.clip_ids == 0).all()
    np.testing.assert_array_equal(tr.next_obs[:-1], tr.obs[1:])
    t = 5
    np.testing.assert_allclose(tr.obs[t, 3:15], at50.qpos[t, 7:] - robot.default_pos, atol=1e-6)
    np.testing.assert_allclose(tr.obs[t, 0:3], 0.25 * at50.qvel[t, 3:6], atol=1e-6)
    np.testing.assert_allclose(tr.obs[t, F:2 * F], tr.obs[t - 1, 0:F])  # newest first
    np.testing.assert_array_equal(tr.obs[0, :F], tr.obs[0, F:])  # history before the clip = first frame


def test_expert_transitions_do_not_cross_clips(go2_kin, mocap_dir):
    from trirl_ros.core.demos.importers import import_motion

    a = resample(import_motion(mocap_dir / "go2" / "amp_go2_trot0.txt", "go2", kin=go2_kin), 50.0, go2_kin)
    b = resample(import_motion(mocap_dir / "go2" / "amp_go2_pace0.txt", "go2", kin=go2_kin), 50.0, go2_kin)
    both = Dataset.concatenate([a, b])
    spec = ObsSpec(terms=(ObsTerm("joint_pos"),))
    tr = expert_transitions(both, go2_kin.spec, spec, go2_kin)
    assert len(tr.obs) == a.num_frames - 1 + b.num_frames - 1
    assert (np.bincount(tr.clip_ids) == [a.num_frames - 1, b.num_frames - 1]).all()
    first_b = a.num_frames - 1
    np.testing.assert_allclose(tr.obs[first_b], b.qpos[0, 7:] - go2_kin.spec.default_pos, atol=1e-6)
