"""Fixtures of the demos tests: robot kinematics and imported real clips, built once per session."""

from __future__ import annotations

import pytest

from trirl_ros.core.demos.importers import ImportOptions, import_motion
from trirl_ros.core.demos.kinematics import RobotKinematics


@pytest.fixture(scope="session")
def g1_kin(robots_dir):
    return RobotKinematics.for_robot("g1_29dof")


@pytest.fixture(scope="session")
def go2_kin(robots_dir):
    return RobotKinematics.for_robot("go2")


@pytest.fixture(scope="session")
def asap_ds(mocap_dir, g1_kin):
    """ASAP walk level 1 imported for the 29-DoF G1 (30 Hz, 152 frames)."""
    return import_motion(mocap_dir / "g1" / "asap_g1_walk_level1.pkl", g1_kin.spec,
                         opts=ImportOptions(trust_pickle=True), kin=g1_kin)


@pytest.fixture(scope="session")
def loco_ds(mocap_dir, g1_kin):
    """LocoMuJoCo v0 G1 walk (500 Hz, 500 frames)."""
    return import_motion(mocap_dir / "g1" / "locomujoco_g1_walk_constspeed.npz", g1_kin.spec, kin=g1_kin)
