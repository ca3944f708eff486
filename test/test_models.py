"""Every shipped model folder under models/ is complete and consistent: its ONNX file runs on
onnxruntime with the width its spec names, the spec matches the robot and the run's config, the
card is there, and the folder stays small (no checkpoints)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trirl_ros.core.deploy.policy_runner import PolicyRunner
from trirl_ros.core.deploy.policy_spec import load_policy_spec
from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.core.train.task import load_task_config

MODELS = sorted(p for p in (Path(__file__).resolve().parents[1] / "models").iterdir() if p.is_dir())


def test_models_are_shipped():
    assert {p.name for p in MODELS} >= {"go2_trot", "go2_trot_tracking", "go2_pace", "go2_pace_tracking", "g1_walk", "g1_walk_tracking"}


@pytest.mark.parametrize("folder", MODELS, ids=[p.name for p in MODELS])
def test_model_folder_is_complete_and_consistent(folder, robots_dir):
    names = {p.name for p in folder.iterdir()}
    assert {"policy.onnx", "policy.yaml", "config.yaml", "MODEL_CARD.md"} <= names
    assert not any(n.endswith(".pt") and n != "reward.pt" for n in names)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5 * 2**20
    spec = load_policy_spec(folder / "policy.yaml")
    task = load_task_config(folder / "config.yaml")
    robot = load_robot_spec(task.robot)
    spec.check_robot(robot)
    assert spec.obs == task.env.obs and tuple(spec.joint_names) == tuple(robot.joint_names)
    runner = PolicyRunner(folder / "policy.onnx", spec.obs_dim, spec.num_joints)
    action = runner.run(np.zeros(spec.obs_dim, dtype=np.float32))
    assert action.shape == (robot.num_joints,) and np.isfinite(action).all()
    card = (folder / "MODEL_CARD.md").read_text()
    assert "Score of this ONNX file" in card and f"models/{folder.name}/config.yaml" in card
