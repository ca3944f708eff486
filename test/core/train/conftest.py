"""Fixtures for the training tests: tiny task configs (CPU, seconds) on the real Go2 mocap."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TINY = {
    "name": "go2_tiny",
    "robot": "go2",
    "algo_base": "trirl",
    "total_steps": 128,
    "num_envs": 4,
    "num_threads": 1,
    "reference_init": 0.5,
    "disc_terms": ["base_lin_vel", "base_ang_vel", "joint_pos", "joint_vel"],
    "eval": {"every_iters": 2, "steps": 20, "num_envs": 1},
    "checkpoint_every_iters": 1,
    "algo": {
        "policy": {"hidden": [16], "critic_hidden": [16]},
        "ppo": {"horizon": 8, "epochs": 1, "num_minibatches": 2, "lr_policy": 3.0e-4},
        "disc": {"hidden": [16], "epochs": 1, "minibatch": 16},
        "trirl": {"buffer_size": 3, "rfit_hidden": [16], "rfit_epochs": 1, "rfit_minibatch": 16,
                  "mean_bound": 0.03, "cov_bound": 0.01},
    },
}


@pytest.fixture
def tiny_task(tmp_path: Path, mocap_dir: Path):
    """write(**changes) -> path of a tiny task YAML using the real Go2 trot mocap."""

    def write(name: str = "task.yaml", **changes) -> Path:
        data = yaml.safe_load(yaml.safe_dump(TINY))
        data["dataset"] = {"source": str(mocap_dir / "go2" / "amp_go2_trot0.txt"), "format": "amp"}
        data.update(changes)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return path

    return write
