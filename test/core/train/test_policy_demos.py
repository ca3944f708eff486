"""Demonstrations recorded from a policy (``trirl rollout --record``): the shipped Go2 trot's rollouts
as a valid dataset whose clips start at the evaluation's reference phases and follow the physics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.core.train.policy_demos import record_policy_demos

REPO = Path(__file__).resolve().parents[3]
MODEL = REPO / "models" / "go2_trot"


def test_recorded_rollouts_are_a_dataset_starting_at_the_reference_phases(robots_dir, tmp_path):
    ds, fell = record_policy_demos(MODEL, episodes=3, seconds=1.0)
    robot = load_robot_spec("go2")
    assert fell == 0 and ds.num_clips == 3 and ds.frequency == robot.policy_hz
    assert ds.split_points.tolist() == [0, 51, 102, 153]  # 50 steps + the start state per episode
    assert ds.joint_names == robot.joint_names
    path = ds.save(tmp_path / "demos.npz", robot)  # validated on save and load
    back = Dataset.load(path, robot)
    np.testing.assert_array_equal(back.qpos, ds.qpos)
    # episode e starts at the evaluation's phase e: clips 0, 1, 0 of trot0 + trot1, starts 0, 0, 13
    from trirl_ros.core.train.data import prepare_dataset
    from trirl_ros.core.train.task import load_task_config

    ref = prepare_dataset(load_task_config(MODEL / "config.yaml").dataset, robot).policy_rate
    starts = ref.split_points[:-1]
    np.testing.assert_allclose(ds.qpos[0, 7:], ref.qpos[starts[0], 7:], atol=1e-9)
    np.testing.assert_allclose(ds.qpos[51, 7:], ref.qpos[starts[1], 7:], atol=1e-9)
    np.testing.assert_allclose(ds.qpos[102, 7:], ref.qpos[starts[0] + 13, 7:], atol=1e-9)
    # consecutive frames follow the physics: base displacement = mean velocity * dt (within 2 cm)
    step = np.diff(ds.qpos[:51, :3], axis=0)
    vel = 0.5 * (ds.qvel[:50, :3] + ds.qvel[1:51, :3]) / robot.policy_hz
    assert np.max(np.abs(step - vel)) < 0.02


def test_record_cli_refuses_a_wrong_suffix(tmp_path):
    out = subprocess.run([sys.executable, "-m", "trirl_ros.cli", "rollout", str(MODEL), "--record",
                          str(tmp_path / "demos.csv")], capture_output=True, text=True, cwd=REPO)
    assert out.returncode != 0 and "--record must name a .npz file" in out.stderr


def test_recording_needs_episodes():
    with pytest.raises(ValueError, match="need episodes >= 1"):
        record_policy_demos(MODEL, episodes=0)


def test_rollout_evaluates_over_episodes_against_any_dataset(robots_dir, tmp_path):
    """--episodes N: the training evaluation (N phases) on a model folder, against the policy's own
    recorded rollouts: they match it exactly, so every episode is up with a score of 1."""
    ds, _ = record_policy_demos(MODEL, episodes=2, seconds=1.0)
    demos = ds.save(tmp_path / "demos.npz", load_robot_spec("go2"))
    out = subprocess.run([sys.executable, "-m", "trirl_ros.cli", "rollout", str(MODEL), "--episodes", "2",
                          "--seconds", "1", "--dataset", str(demos)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "2 episodes of 50 steps from evenly spaced phases" in out.stdout
    assert "imitation score mean 1.000  min 1.000  episodes up 1.00" in out.stdout, out.stdout
