"""Every real motion file in ../shared/mocap imports for its robot; format-specific facts hold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.demos.importers import ImportOptions, UnknownFormatError, detect_format, import_motion
from trirl_ros.core.demos.importers.csv_g1 import write_csv
from trirl_ros.core.demos.importers.phc_pickle import PickleRefusedError

ROBOT_OF_FOLDER = {"g1": "g1_29dof", "go2": "go2", "human": "g1_29dof"}
FORMAT_OF_SUFFIX = {".pkl": "phc", ".npz": "locomujoco", ".txt": "amp", ".bvh": "bvh"}


def motion_files(mocap_dir):
    return sorted(p for p in mocap_dir.rglob("*") if p.is_file() and not p.name.startswith(("LICENSE", "README")))


def test_every_shared_motion_file_imports(mocap_dir, g1_kin, go2_kin, asap_ds, loco_ds):
    files = motion_files(mocap_dir)
    assert len(files) == 8, [f.name for f in files]  # a new file must be added to this test
    kins = {"g1_29dof": g1_kin, "go2": go2_kin}
    for path in files:
        robot = ROBOT_OF_FOLDER[path.parent.name]
        assert detect_format(path) == FORMAT_OF_SUFFIX[path.suffix], path.name
        if path.suffix == ".bvh":
            continue  # retargeting has its own test below (slow: IK)
        ds = import_motion(path, robot, opts=ImportOptions(trust_pickle=True), kin=kins[robot])
        assert ds.robot == robot and ds.num_frames >= 30, path.name
        assert ds.qpos.shape[1] == 7 + len(kins[robot].spec.joint_names)
        assert ds.provenance["source"] == path.name and len(ds.provenance["sha256"]) == 64


@pytest.mark.parametrize("clip", ["amp_go2_trot0.txt", "amp_go2_trot1.txt", "amp_go2_pace0.txt", "amp_go2_pace1.txt"])
def test_go2_amp_forward_kinematics_reproduces_stored_feet(clip, mocap_dir, go2_kin):
    path = mocap_dir / "go2" / clip
    frames = np.array(json.loads(path.read_text())["Frames"])
    stored = frames[:, 19:31].reshape(-1, 4, 3)  # feet FL, FR, RL, RR in the base frame
    ds = import_motion(path, "go2", kin=go2_kin)
    assert ds.frequency == pytest.approx(1 / 0.01677)
    fk = go2_kin.body_positions(ds.qpos, go2_kin.feet_ids, base_frame=True)
    err = np.linalg.norm(fk - stored, axis=2)
    assert err.max() < 0.005, f"max foot error {err.max() * 1000:.2f} mm"
    # the wrong leg order must be caught by the same check
    swapped = import_motion(path, "go2", opts=ImportOptions(leg_order="FR,FL,RR,RL"), kin=go2_kin)
    fk_bad = go2_kin.body_positions(swapped.qpos, go2_kin.feet_ids, base_frame=True)
    assert np.linalg.norm(fk_bad - stored, axis=2).max() > 0.05


def test_asap_pickle_maps_23_dof_and_holds_wrists_at_zero(asap_ds, mocap_dir, g1_kin):
    names = g1_kin.spec.joint_names
    wrists = [i for i, n in enumerate(names) if "wrist" in n]
    assert len(wrists) == 6 and np.all(asap_ds.qpos[:, 7 + np.array(wrists)] == 0.0)
    assert asap_ds.frequency == 30.0 and asap_ds.num_frames == 152
    # root_rot is x,y,z,w: the imported quaternion must be its w-first reordering (normalised)
    from trirl_ros.core.demos.importers.phc_pickle import read_motion_pickle

    raw = next(iter(read_motion_pickle(mocap_dir / "g1" / "asap_g1_walk_level1.pkl").values()))
    q = raw["root_rot"][0] / np.linalg.norm(raw["root_rot"][0])
    assert np.allclose(asap_ds.qpos[0, 3:7], [q[3], q[0], q[1], q[2]], atol=1e-6) or \
        np.allclose(asap_ds.qpos[0, 3:7], -np.array([q[3], q[0], q[1], q[2]]), atol=1e-6)
    # column 12 of dof is waist_yaw (after two legs of 6)
    assert np.allclose(asap_ds.qpos[:, 7 + names.index("waist_yaw_joint")], raw["dof"][:, 12], atol=1e-6)
    assert np.allclose(asap_ds.qpos[:, 7 + names.index("left_elbow_joint")], raw["dof"][:, 18], atol=1e-6)


def test_asap_into_the_23_dof_g1(mocap_dir, asap_ds):
    ds = import_motion(mocap_dir / "g1" / "asap_g1_walk_level1.pkl", "g1_23dof",
                       opts=ImportOptions(trust_pickle=True))
    assert ds.robot == "g1_23dof" and ds.qpos.shape == (152, 7 + 23)
    for name in ("left_knee_joint", "waist_yaw_joint", "right_elbow_joint"):
        np.testing.assert_array_equal(ds.qpos[:, 7 + ds.joint_names.index(name)],
                                      asap_ds.qpos[:, 7 + asap_ds.joint_names.index(name)])


def test_pickle_refused_without_trust(mocap_dir, g1_kin):
    with pytest.raises(PickleRefusedError, match="can run arbitrary code.*--trust-pickle"):
        import_motion(mocap_dir / "g1" / "asap_g1_walk_level1.pkl", "g1_29dof", kin=g1_kin)


def test_restricted_unpickler_refuses_code(tmp_path, g1_kin):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"clip": {"root_rot": Evil()}}))
    with pytest.raises(ValueError, match="wants to load posix.system|wants to load os.system"):
        import_motion(path, "g1_29dof", "phc", ImportOptions(trust_pickle=True), g1_kin)


def test_locomujoco_v0_reports_ignored_keys(loco_ds):
    assert loco_ds.frequency == 500.0 and loco_ds.num_frames == 500
    prov = loco_ds.provenance
    assert prov["ignored_keys"] == ["q_lumbar_extension", "q_lumbar_bending"]
    assert "waist_roll_joint" in prov["missing_joints"]
    assert prov["renamed"]["torso_joint"] == "waist_yaw_joint"


def test_locomujoco_v1_round_trip(loco_ds, g1_kin, tmp_path):
    path = tmp_path / "v1.npz"
    np.savez(path, qpos=loco_ds.qpos, qvel=loco_ds.qvel, split_points=np.array([0, 200, 500]),
             frequency=np.array(500.0), joint_names=np.array(["root", *loco_ds.joint_names]))
    assert detect_format(path) == "locomujoco"
    ds = import_motion(path, "g1_29dof", kin=g1_kin)
    assert ds.split_points.tolist() == [0, 200, 500]
    np.testing.assert_allclose(ds.qpos, loco_ds.qpos, atol=1e-12)


def test_beyondmimic_csv_round_trip(asap_ds, g1_kin, tmp_path):
    path = write_csv(asap_ds, tmp_path / "walk.csv", g1_kin.spec)
    first = path.read_text().splitlines()[0].split(",")
    assert len(first) == 36
    assert float(first[6]) == pytest.approx(asap_ds.qpos[0, 3], abs=1e-8)  # w is column 7 (x,y,z,w)
    assert detect_format(path) == "csv"
    ds = import_motion(path, "g1_29dof", kin=g1_kin)
    assert ds.frequency == 30.0
    np.testing.assert_allclose(ds.qpos, asap_ds.qpos, atol=1e-7)
    ds60 = import_motion(path, "g1_29dof", opts=ImportOptions(fps=60.0), kin=g1_kin)
    assert ds60.frequency == 60.0 and ds60.duration == pytest.approx(ds.duration / 2)


def test_bvh_retargeted_to_g1(mocap_dir, g1_kin):
    ds = import_motion(mocap_dir / "human" / "cmu_131_01_walk_scaled_m.bvh", "g1_29dof", kin=g1_kin)
    assert ds.frequency == pytest.approx(30.0, rel=1e-3) and ds.num_frames == 249  # 995 frames at 120 fps, every 4th
    res = np.array(ds.provenance["ik_residual_per_frame_m"])
    assert res.shape == (249,)
    assert ds.provenance["ik_residual_m"]["mean"] < 0.04 and res.max() < 0.06
    lim = np.asarray(g1_kin.spec.pos_limits)
    assert (ds.qpos[:, 7:] >= lim[:, 0] - 1e-9).all() and (ds.qpos[:, 7:] <= lim[:, 1] + 1e-9).all()
    lowest = g1_kin.feet_lowest_z(ds.qpos).min(axis=1)
    assert np.mean(np.abs(lowest) < 0.01) >= 0.9  # the support foot stays on the floor
    travelled = np.linalg.norm(ds.qpos[-1, :2] - ds.qpos[0, :2])
    assert 1.0 < travelled < 4.0  # "start walk stop": the robot walks a few metres
    assert 0.6 < np.median(ds.qpos[:, 2]) < 0.85  # standing/walking pelvis height of the G1


def test_unknown_format_and_missing_file(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(UnknownFormatError, match="cannot tell the format"):
        detect_format(junk)
    with pytest.raises(FileNotFoundError, match="not found"):
        import_motion(tmp_path / "nope.csv", "g1_29dof")
    with pytest.raises(UnknownFormatError, match="unknown format 'fbx'"):
        import_motion(junk, "g1_29dof", fmt="fbx")


def test_dataset_saved_by_import_loads(asap_ds, tmp_path):
    path = asap_ds.save(tmp_path / "a.npz")
    assert Dataset.load(path).num_frames == 152
