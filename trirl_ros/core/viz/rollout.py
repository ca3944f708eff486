"""Deterministic replay of a training run's (or a shipped model's) policy against its reference motion.

:func:`replay` loads ``RUN_DIR`` the way the exporter does (``config.yaml`` +
``checkpoints/latest.pt``, see :mod:`trirl_ros.core.export.run_dir`), or a shipped model folder
(``config.yaml`` + ``policy.onnx`` + ``policy.yaml``, no checkpoint: the ONNX graph runs on
onnxruntime, as on the robot), rebuilds the run's env
without reset noise, starts it at the first frame of the first demonstration clip and rolls the
policy mean out for S policy steps, scoring it with the training run's own imitation score
(:func:`trirl_ros.core.train.evaluation.imitation_score`). The agent and the time-aligned
reference states are returned for rendering.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RolloutResult:
    """One deterministic episode of S requested policy steps at ``policy_hz``.

    score: imitation score in [0, 1] (a fall counts 0 for the remaining steps);
    joint_pos_rmse (rad) / joint_vel_rmse (rad/s): tracking errors while upright;
    fell / fell_at_s: whether (and when) the episode terminated before S steps;
    distance_m / ref_distance_m: horizontal base displacement of the agent (start -> last state)
        and of the reference over the same time;
    qpos (F, nq) agent states and ref_qpos (F, nq) reference states, F = simulated steps + 1
        (index 0 = initial state; states at the policy rate).
    """

    robot: str
    policy_hz: float
    steps: int
    score: float
    joint_pos_rmse: float
    joint_vel_rmse: float
    fell: bool
    fell_at_s: float | None
    distance_m: float
    ref_distance_m: float
    qpos: np.ndarray
    ref_qpos: np.ndarray

    @property
    def simulated_s(self) -> float:
        return (len(self.qpos) - 1) / self.policy_hz


def reference_dataset(run_dir: Path, task, robot, dataset: str | Path | None):
    """The demonstrations at the policy rate: ``dataset`` if given, else the run's saved
    ``dataset.npz``, else the task's ``dataset.source``."""
    from trirl_ros.core.train.data import load_saved, prepare_dataset
    from trirl_ros.core.train.task import DatasetConfig

    if dataset is not None:
        path = Path(dataset).expanduser().resolve()
        return prepare_dataset(DatasetConfig(source=str(path)), robot).policy_rate
    if (run_dir / "dataset.npz").is_file():
        return load_saved(run_dir, robot).policy_rate
    log.info("%s has no dataset.npz; using the task's dataset source %s", run_dir, task.dataset.source)
    return prepare_dataset(task.dataset, robot).policy_rate


def replay(run_dir: str | Path, dataset: str | Path | None = None, seconds: float | None = None) -> RolloutResult:
    """Roll the policy of ``run_dir`` out deterministically (see module doc).

    seconds: episode length (default: the run's ``eval.steps`` policy steps). Raises RunDirError /
    FileNotFoundError / ValueError naming a missing file, an unreadable config or a dataset for
    another robot.
    """
    from trirl_ros.core.export.model_dir import load_policy_fn
    from trirl_ros.core.export.run_dir import CONFIG, RunDirError
    from trirl_ros.core.robots.models import free_joint_qpos_adr
    from trirl_ros.core.train.evaluation import eval_env, imitation_score
    from trirl_ros.core.train.reference import ReferenceMotion
    from trirl_ros.core.train.task import load_task_config

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run folder not found: {run_dir}")
    if not (run_dir / CONFIG).is_file():
        raise RunDirError(f"{run_dir}: missing {CONFIG} (expected a training run folder or a model folder)")
    task = load_task_config(run_dir / CONFIG)
    robot, policy = load_policy_fn(run_dir, task)
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    steps = int(round(seconds * robot.policy_hz)) if seconds is not None else task.eval.steps
    steps = max(steps, 1)
    ds = reference_dataset(run_dir, task, robot, dataset)

    env = eval_env(robot, task.env, steps, num_envs=1, seed=task.seed)
    ref = ReferenceMotion(ds, robot, env.model, env.default_qpos)
    states: list[np.ndarray] = []

    def act(obs: np.ndarray) -> np.ndarray:
        states.append(env.get_qpos()[0].copy())  # state the action is taken in
        return policy(obs)

    try:
        res = imitation_score(env, act, ref, steps=steps, init="reference")
        fell = res.survival < 1.0
        if not fell:
            states.append(env.get_qpos()[0].copy())  # final state (after the last action)
    finally:
        env.close()
    qpos = np.stack(states)
    k = ref.frame_index(np.zeros(len(qpos), dtype=np.int64), np.arange(len(qpos)))
    ref_qpos = ref.qpos[k]
    fa = free_joint_qpos_adr(env.model, robot)
    dist = float(np.linalg.norm(qpos[-1, fa:fa + 2] - qpos[0, fa:fa + 2]))
    # reference displacement accumulated frame by frame (a looping clip jumps back to its start)
    ref_xy = ref.qpos[:, fa:fa + 2]
    steps_xy = np.diff(ref_xy[k], axis=0)
    jumps = np.diff(k) != 1
    ref_dist = float(np.linalg.norm(steps_xy[~jumps].sum(axis=0))) if len(steps_xy) else 0.0
    result = RolloutResult(robot.name, robot.policy_hz, steps, res.score, res.joint_pos_rmse,
                           res.joint_vel_rmse, fell, (len(states) / robot.policy_hz) if fell else None,
                           dist, ref_dist, qpos, ref_qpos)
    log.info("rollout %s: score %.3f over %d steps, fell %s, distance %.2f m", run_dir, result.score, steps,
             fell, dist)
    return result
