"""Reading a training run folder for export.

Expected layout (written by the trainer)::

    RUN_DIR/config.yaml               the run's config; the exporter reads
                                        robot:  <robot name>             (or env.robot)
                                        obs:    {terms: [...], history: H} (or env.obs)
                                        policy: {normalize_obs: bool, ...} (or algo.policy; optional)
    RUN_DIR/checkpoints/latest.pt     torch.save'd dict loadable with torch.load(weights_only=True):
                                        "policy": GaussianPolicy.state_dict()  -- keys
                                            normalizer.mean (D,), normalizer.var (D,), normalizer.count (),
                                            actor.<i>.weight / actor.<i>.bias (nn.Sequential of Linear+Tanh),
                                            log_std (A,)
                                        optional: "step" (int), anything else (ignored here)

The actor's layer sizes are read from the weight shapes, so the config does not need to repeat them.
The fingerprint written into the policy spec names the run and hashes the checkpoint and config.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from trirl_ros.core.config import from_dict
from trirl_ros.core.envs.obs_spec import ObsSpec, ObsTerm
from trirl_ros.core.robots.spec import RobotSpec, load_robot_spec

log = logging.getLogger(__name__)

CHECKPOINT = Path("checkpoints") / "latest.pt"
CONFIG = Path("config.yaml")


class RunDirError(FileNotFoundError):
    """A run folder lacks a file or a key the exporter needs (message names it)."""


@dataclass
class LoadedRun:
    policy: torch.nn.Module  # has .normalizer and .actor
    robot: RobotSpec
    obs: ObsSpec
    fingerprint: str
    action_clip: float | None = None  # env.action_clip of the run: the deploy side must clip alike


def default_obs_spec(robot: RobotSpec) -> ObsSpec:
    """The observation layout of the contract for an exported policy without a run config:
    Go2 (paper, 42-dim): base_lin_vel, base_ang_vel, joint_pos, joint_vel, last_action;
    G1: base_ang_vel, projected_gravity, joint_pos, joint_vel, last_action. Scales follow the
    legged_gym conventions (lin vel 2, ang vel 0.25, joint vel 0.05)."""
    if robot.msg_family == "unitree_go":
        terms = ("base_lin_vel", 2.0), ("base_ang_vel", 0.25), ("joint_pos", 1.0), ("joint_vel", 0.05), \
            ("last_action", 1.0)
    else:
        terms = ("base_ang_vel", 0.25), ("projected_gravity", 1.0), ("joint_pos", 1.0), \
            ("joint_vel", 0.05), ("last_action", 1.0)
    return ObsSpec(terms=tuple(ObsTerm(name, scale) for name, scale in terms), history=1)


def _get(cfg: dict, *paths: str):
    for path in paths:
        node = cfg
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return node
    return None


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load_run(run_dir: str | Path, checkpoint: str = "latest") -> LoadedRun:
    """Rebuild the policy of a run folder (see module doc) from ``checkpoints/<checkpoint>.pt``
    ('latest', or 'best': the best evaluation's). Raises RunDirError naming what is missing."""
    from trirl_ros.core.algo.networks import GaussianPolicy

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run folder not found: {run_dir}")
    cfg_path, ckpt_path = run_dir / CONFIG, run_dir / "checkpoints" / f"{checkpoint}.pt"
    for p in (cfg_path, ckpt_path):
        if not p.is_file():
            raise RunDirError(f"{run_dir}: missing {p.relative_to(run_dir)} (expected a training run folder)")
    cfg = yaml.safe_load(cfg_path.read_text()) or {}
    robot_name = _get(cfg, "robot", "env.robot", "task.robot")
    if isinstance(robot_name, dict):
        robot_name = robot_name.get("name")
    if not isinstance(robot_name, str):
        raise RunDirError(f"{cfg_path}: no 'robot' name (looked at robot, env.robot, task.robot)")
    robot = load_robot_spec(robot_name)
    obs_data = _get(cfg, "obs", "env.obs", "task.obs")
    if obs_data is None:
        raise RunDirError(f"{cfg_path}: no observation spec (looked at obs, env.obs, task.obs)")
    obs = from_dict(ObsSpec, obs_data, "obs")
    normalize_obs = _get(cfg, "policy.normalize_obs", "algo.policy.normalize_obs",
                         "algorithm.policy.normalize_obs")
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    state = ckpt.get("policy") if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise RunDirError(f"{ckpt_path}: no 'policy' state dict (keys: {sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt)})")
    try:
        obs_dim = int(state["normalizer.mean"].shape[0])
        act_dim = int(state["log_std"].shape[0])
    except KeyError as exc:
        raise RunDirError(f"{ckpt_path}: policy state dict lacks {exc}") from exc
    layers = sorted(
        (int(m.group(1)), tensor.shape[0])
        for key, tensor in state.items() if (m := re.fullmatch(r"actor\.(\d+)\.weight", key))
    )
    hidden = tuple(int(n) for _, n in layers[:-1])
    expected = obs.dim(robot.num_joints)
    if obs_dim != expected or act_dim != robot.num_joints:
        raise RunDirError(f"{run_dir}: checkpoint policy is obs {obs_dim} -> action {act_dim}, but robot "
                          f"{robot.name} with the config's obs spec needs {expected} -> {robot.num_joints}")
    policy = GaussianPolicy(obs_dim, act_dim, hidden,
                            normalize_obs=True if normalize_obs is None else bool(normalize_obs))
    policy.load_state_dict(state, strict=True)
    step = ckpt.get("step")
    fingerprint = (f"run={run_dir.resolve().name} checkpoint_sha256={_sha(ckpt_path)} "
                   f"config_sha256={_sha(cfg_path)}" + (f" step={int(step)}" if step is not None else ""))
    log.info("loaded run %s: %s, obs %d -> action %d, hidden %s", run_dir, robot.name, obs_dim, act_dim,
             list(hidden))
    action_clip = _get(cfg, "env.action_clip", "action_clip")
    if action_clip is not None and not (isinstance(action_clip, (int, float)) and action_clip > 0):
        raise RunDirError(f"{cfg_path}: env.action_clip must be a positive number or null, got {action_clip!r}")
    return LoadedRun(policy.eval(), robot, obs, fingerprint,
                     None if action_clip is None else float(action_clip))
