"""Task configs: the shipped tasks load (both presets), round-trip, and bad keys are named."""

from __future__ import annotations

import pytest

from trirl_ros.core.config import ConfigError, config_path
from trirl_ros.core.train.task import load_task_config, task_to_yaml

TASKS = ("go2_trot", "go2_pace", "g1_walk")


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("preset", ("cpu", "gpu"))
def test_shipped_tasks_load_and_round_trip(task, preset, tmp_path, robots_dir):
    cfg = load_task_config(config_path("tasks", f"{task}.yaml"), [f"preset={preset}"])
    assert cfg.preset == preset and cfg.name == task
    assert cfg.dataset.path().exists(), cfg.dataset.path()
    assert "last_action" not in cfg.discriminator_terms()
    out = tmp_path / "config.yaml"
    out.write_text(task_to_yaml(cfg))
    assert load_task_config(out) == cfg  # the run's config.yaml reloads to the same config


def test_presets_differ():
    cpu = load_task_config(config_path("tasks", "go2_trot.yaml"), ["preset=cpu"])
    gpu = load_task_config(config_path("tasks", "go2_trot.yaml"), ["preset=gpu"])
    assert gpu.num_envs > cpu.num_envs and gpu.total_steps > cpu.total_steps
    assert gpu.algo.policy.hidden != cpu.algo.policy.hidden


def test_overrides_apply_and_unknown_keys_are_named(tiny_task):
    path = tiny_task()
    cfg = load_task_config(path, ["total_steps=999", "algo.ppo.lr_policy=0.01"])
    assert cfg.total_steps == 999 and cfg.algo.ppo.lr_policy == 0.01
    with pytest.raises(ConfigError, match="bogus"):
        load_task_config(path, ["algo.ppo.bogus=1"])
    with pytest.raises(ConfigError, match="turbo"):
        load_task_config(tiny_task("bad.yaml", turbo=True))
    with pytest.raises(ConfigError, match="lr_critc"):
        load_task_config(tiny_task("bad2.yaml", algo={"ppo": {"lr_critc": 1.0}}))
    with pytest.raises(ConfigError, match="preset"):
        load_task_config(path, ["preset=tpu"])


def test_disc_terms_must_be_env_terms(tiny_task):
    with pytest.raises(ConfigError, match="projected_gravity"):
        load_task_config(tiny_task(disc_terms=["projected_gravity"]))  # not in the Go2 observation
