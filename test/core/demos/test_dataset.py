"""Dataset schema: npz round trip without pickles, atomic writes, validation naming clip and frame."""

from __future__ import annotations

import dataclasses
import logging
import zipfile

import numpy as np
import pytest

from trirl_ros.core.demos.dataset import Dataset, DatasetError, validate


def _two_clip(ds: Dataset) -> Dataset:
    """Split a one-clip dataset in two clips named a and b."""
    half = ds.num_frames // 2
    return dataclasses.replace(ds, split_points=np.array([0, half, ds.num_frames]), clip_names=("a", "b"))


def test_save_load_round_trip_is_exact_and_pickle_free(asap_ds, g1_kin, tmp_path):
    ds = _two_clip(asap_ds)
    path = ds.save(tmp_path / "d.npz", g1_kin.spec)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"]  # no temp file left behind
    with zipfile.ZipFile(path) as z:  # every member loads without pickle
        names = z.namelist()
    data = np.load(path, allow_pickle=False)
    for key in ("robot", "joint_names", "frequency", "qpos", "qvel", "split_points", "provenance"):
        assert f"{key}.npy" in names
        data[key]  # raises if it needed pickle
    back = Dataset.load(path, g1_kin.spec)
    np.testing.assert_array_equal(back.qpos, ds.qpos)
    np.testing.assert_array_equal(back.qvel, ds.qvel)
    assert back.split_points.tolist() == [0, ds.num_frames // 2, ds.num_frames]
    assert back.clip_names == ("a", "b")
    assert back.joint_names == g1_kin.spec.joint_names
    assert back.qpos.shape == (152, 36) and back.qvel.shape == (152, 35)
    assert back.provenance["sha256"] == asap_ds.provenance["sha256"]
    assert len(back.provenance["sha256"]) == 64
    assert back.provenance["importer"].startswith("phc")


def test_failed_save_leaves_no_file(asap_ds, g1_kin, tmp_path):
    bad = dataclasses.replace(asap_ds, qpos=asap_ds.qpos.copy())
    bad.qpos[10, 9] = np.nan
    with pytest.raises(DatasetError, match="frame 10.*NaN"):
        bad.save(tmp_path / "x.npz", g1_kin.spec)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda q, v: q.__setitem__((80, 10), np.inf), r"clip 'b' frame 4: qpos left_knee_joint is inf"),
        (lambda q, v: v.__setitem__((3, 0), np.nan), r"clip 'a' frame 3: qvel base_vx"),
        (lambda q, v: q.__setitem__((90, 3), 1.2), r"clip 'b' frame 14: base quaternion has norm"),
        (lambda q, v: q.__setitem__((20, 7 + 3), 3.5), r"clip 'a' frame 20: joint left_knee_joint = 3.5000"),
        (lambda q, v: q.__setitem__((slice(100, None), 0), q[100:, 0] + 1.0), r"clip 'b' frame 24: base teleports"),
    ],
)
def test_validation_names_clip_and_frame(asap_ds, g1_kin, mutate, message):
    ds = _two_clip(asap_ds)
    q, v = ds.qpos.copy(), ds.qvel.copy()
    mutate(q, v)
    with pytest.raises(DatasetError, match=message):
        validate(dataclasses.replace(ds, qpos=q, qvel=v), g1_kin.spec)


def test_joint_slightly_beyond_limit_is_clipped_with_warning(asap_ds, g1_kin, caplog):
    q = asap_ds.qpos.copy()
    hi = g1_kin.spec.pos_limits[3, 1]
    q[5, 7 + 3] = hi + 0.01
    with caplog.at_level(logging.WARNING):
        out = validate(dataclasses.replace(asap_ds, qpos=q), g1_kin.spec)
    assert out.qpos[5, 7 + 3] == pytest.approx(hi)
    assert "clipped 1 joint values" in caplog.text and "left_knee_joint" in caplog.text


def test_time_gap_is_reported(asap_ds, g1_kin):
    t = np.arange(asap_ds.num_frames) / asap_ds.frequency
    t[50:] += 0.5
    with pytest.raises(DatasetError, match=r"frame 50: time gap of 0.5333 s"):
        validate(dataclasses.replace(asap_ds, time=t), g1_kin.spec)


def test_robot_and_joint_mismatch(asap_ds, g1_kin, go2_kin):
    with pytest.raises(DatasetError, match="dataset is for robot 'g1_29dof', not 'go2'"):
        validate(asap_ds, go2_kin.spec)
    names = list(asap_ds.joint_names)
    names[0] = "hip_joint_that_does_not_exist"
    with pytest.raises(DatasetError, match="unknown \\['hip_joint_that_does_not_exist'\\]"):
        validate(dataclasses.replace(asap_ds, joint_names=tuple(names)), g1_kin.spec)


def test_structure_errors(asap_ds):
    with pytest.raises(DatasetError, match="split_points must rise"):
        dataclasses.replace(asap_ds, split_points=np.array([0, 10]))
    with pytest.raises(DatasetError, match=r"qpos must have shape \(T, 36\)"):
        dataclasses.replace(asap_ds, qpos=asap_ds.qpos[:, :30])


def test_load_rejects_non_dataset_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(DatasetError, match="not a trirl dataset, missing keys"):
        Dataset.load(path)
    with pytest.raises(FileNotFoundError, match="dataset not found"):
        Dataset.load(tmp_path / "missing.npz")
