"""`trirl robots check`: passes for the shipped specs, names each problem of a broken spec,
and explains a missing robots folder."""

import re

import pytest

from trirl_ros.cli import main
from trirl_ros.core.config import config_path
from trirl_ros.core.robots.check import check_robot
from trirl_ros.core.robots.spec import load_robot_spec, robot_names


@pytest.mark.parametrize("name", robot_names())
def test_shipped_specs_match_mjcf(name, robots_dir):
    result = check_robot(load_robot_spec(name))
    assert result.ok, result.problems
    assert len(result.rows) == load_robot_spec(name).num_joints and all(r.ok for r in result.rows)


def test_cli_check_all_passes(robots_dir, capsys):
    assert main(["robots", "check"]) == 0
    out = capsys.readouterr().out
    assert "robots check passed" in out
    for name in robot_names():
        assert f"{name}: OK" in out
    assert re.search(r"FL_hip_joint +FL_hip +3 ", out)  # Go2 FL maps to SDK motor slot 3


def _broken_go2(tmp_path, edit):
    text = config_path("robots", "go2.yaml").read_text()
    path = tmp_path / "go2_broken.yaml"
    path.write_text(edit(text))
    return path


def test_unknown_joint_is_named(robots_dir, tmp_path, capsys):
    path = _broken_go2(tmp_path, lambda t: t.replace("name: FL_hip_joint", "name: FL_hip_jiont"))
    assert main(["robots", "check", "--robot", str(path)]) == 1
    out = capsys.readouterr().out
    assert "joint 'FL_hip_jiont' does not exist in the MJCF" in out
    assert "MJCF joint 'FL_hip_joint' is not in the spec" in out
    assert "robots check FAILED for go2" in out


def test_wrong_count_and_limits_are_named(robots_dir, tmp_path):
    def drop_rr_calf_and_bend_limit(text):
        lines = [l for l in text.splitlines() if "name: RR_calf_joint" not in l]
        return "\n".join(lines).replace("torque_limit: 45.43, pos_limit: [-2.7227, -0.8378]",
                                        "torque_limit: 45.43, pos_limit: [-2.9, -0.8378]", 1)
    result = check_robot(load_robot_spec(_broken_go2(tmp_path, drop_rr_calf_and_bend_limit)))
    text = "\n".join(result.problems)
    assert "joint count mismatch: spec has 11 joints + 0 unused, MJCF has 12" in text
    assert "actuator count mismatch" in text
    assert "MJCF joint 'RR_calf_joint' is not in the spec" in text
    assert "joint 'FL_calf_joint' pos_limit (-2.9, -0.8378) != MJCF range (-2.7227, -0.8378)" in text


def test_wrong_torque_limit_and_actuator_are_named(robots_dir, tmp_path):
    edit = lambda t: (t.replace("actuator: FL_hip,", "actuator: @,", 1).replace("actuator: FL_thigh,", "actuator: FL_hip,", 1)
                       .replace("actuator: @,", "actuator: FL_thigh,", 1)
                       .replace("torque_limit: 45.43", "torque_limit: 40.0", 1))
    spec = load_robot_spec(_broken_go2(tmp_path, edit))
    text = "\n".join(check_robot(spec).problems)
    assert "actuator 'FL_thigh' does not drive joint 'FL_hip_joint' (it drives 'FL_thigh_joint')" in text
    assert "joint 'FL_calf_joint' torque_limit 40.0 != MJCF ctrlrange (-45.43, 45.43)" in text


@pytest.mark.parametrize("make", ["missing", "incomplete"])
def test_missing_robots_folder_gives_guidance(make, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "robots"
    if make == "incomplete":
        (folder / "unitree_g1").mkdir(parents=True)
        (folder / "unitree_g1" / "g1_29dof.xml").write_text("<mujoco/>")
    monkeypatch.setenv("TRIRL_ROBOTS_DIR", str(folder))
    assert main(["robots", "check"]) == 2
    err = capsys.readouterr().err
    for needle in ("TRIRL_ROBOTS_DIR", "unitree_g1/g1_29dof.xml", "unitree_g1/g1_23dof.xml", "unitree_go2/go2.xml",
                   "github.com/unitreerobotics/unitree_mujoco", "unitree_robots/", "BSD-3"):
        assert needle in err
    if make == "incomplete":
        assert "lacks ['unitree_g1/g1_23dof.xml', 'unitree_go2/go2.xml']" in err
    else:
        assert "does not exist" in err
