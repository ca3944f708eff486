"""Demonstrations recorded from a policy: its deterministic rollouts as a dataset (``trirl rollout --record``).

A motion-capture clip retargeted to a robot is often not a motion that robot can make: a tracking
policy that walks its clip still differs from it in every frame (the Go2 trot: joint RMSE 0.30 rad,
feet slipping), and a discriminator separates the two with 99.9 % accuracy on joint angles alone, so
a learned reward sees nothing to climb. The robot's own states, recorded from a policy that already
does the motion (a tracker, a controller, the real robot through ``trirl demos import`` of a bag),
are demonstrations it can match; the TRIRL paper's robot demonstrations were such rollouts.

:func:`record_policy_demos` rolls the policy of a run or model folder out from E evenly spaced phases
of its reference motion (as the evaluation does, :func:`~trirl_ros.core.train.evaluation.start_frames`),
for S steps each, and keeps every episode that stayed up as one clip of the dataset schema
(:mod:`trirl_ros.core.demos.dataset`), at the policy rate.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from trirl_ros.core.demos.dataset import Dataset

log = logging.getLogger(__name__)


def record_policy_demos(run_dir: str | Path, episodes: int = 16, seconds: float = 20.0) -> tuple[Dataset, int]:
    """(dataset of the episodes that stayed up, number of episodes that fell) for the policy of
    ``run_dir`` (see module doc). Raises ValueError when every episode fell."""
    from trirl_ros.core.export.model_dir import load_policy_fn
    from trirl_ros.core.robots.models import free_joint_dof_adr, free_joint_qpos_adr, joint_dof_adr, joint_qpos_adr
    from trirl_ros.core.train.evaluation import eval_env, start_frames
    from trirl_ros.core.train.reference import ReferenceMotion
    from trirl_ros.core.train.task import load_task_config
    from trirl_ros.core.viz.rollout import reference_dataset

    if episodes < 1 or not seconds > 0:
        raise ValueError(f"need episodes >= 1 and seconds > 0, got {episodes} and {seconds}")
    run_dir = Path(run_dir)
    task = load_task_config(run_dir / "config.yaml")
    robot, policy = load_policy_fn(run_dir, task)
    steps = max(1, int(round(seconds * robot.policy_hz)))
    env = eval_env(robot, task.env, steps, num_envs=episodes, seed=task.seed)
    try:
        ref = ReferenceMotion(reference_dataset(run_dir, task, robot, None), robot, env.model, env.default_qpos)
        clips, t0 = start_frames(ref, episodes)
        env.reset()
        start = ref.frame_index(clips, t0)
        obs = env.reset_to(ref.qpos[start], ref.qvel[start])
        qpos, qvel = [env.get_qpos().copy()], [env.get_qvel().copy()]
        alive = np.ones(episodes, dtype=bool)
        for _ in range(steps):
            actions = np.concatenate([policy(obs[e:e + 1]) for e in range(episodes)])
            obs, terminated, truncated, info = env.step(actions.astype(np.float32))
            alive &= ~(terminated | truncated)
            qpos.append(info["final_qpos"].copy())
            qvel.append(info["final_qvel"].copy())
        m = env.model
        fa, fd = free_joint_qpos_adr(m, robot), free_joint_dof_adr(m, robot)
        qadr, dadr = joint_qpos_adr(m, robot), joint_dof_adr(m, robot)
    finally:
        env.close()
    keep = np.flatnonzero(alive)
    if len(keep) == 0:
        raise ValueError(f"{run_dir}: all {episodes} episodes fell within {seconds:g} s; nothing to record")
    Qp, Qv = np.stack(qpos, axis=1)[keep], np.stack(qvel, axis=1)[keep]  # (K, S + 1, nq / nv)
    ds_qpos = np.concatenate([Qp[..., fa:fa + 7], Qp[..., qadr]], axis=-1).reshape(-1, 7 + robot.num_joints)
    ds_qvel = np.concatenate([Qv[..., fd:fd + 6], Qv[..., dadr]], axis=-1).reshape(-1, 6 + robot.num_joints)
    # a joint driven into its stop overshoots the range a little (MuJoCo's soft limits, like a real
    # joint's compliance); the dataset schema allows none of it: clip, and say how much
    lo, hi = robot.pos_limits[:, 0], robot.pos_limits[:, 1]
    joints = ds_qpos[:, 7:]
    outside = (joints < lo) | (joints > hi)
    if outside.any():
        worst = float(np.max(np.maximum(lo - joints, joints - hi)))
        log.warning("%d joint angles in %d frames beyond their range (at most %.3f rad) clipped to it",
                    int(outside.sum()), int(outside.any(axis=1).sum()), worst)
        ds_qpos[:, 7:] = np.clip(joints, lo, hi)
    frames = steps + 1
    ds = Dataset(robot=robot.name, joint_names=robot.joint_names, frequency=robot.policy_hz, qpos=ds_qpos,
                 qvel=ds_qvel, split_points=np.arange(len(keep) + 1) * frames,
                 clip_names=tuple(f"episode{int(e)}" for e in keep),
                 provenance={"source": str(run_dir), "importer": "trirl rollout --record",
                             "notes": f"deterministic policy rollouts, {len(keep)} of {episodes} episodes of "
                                      f"{seconds:g} s that stayed up, from evenly spaced reference phases",
                             "license": "derived from the run's reference data: its license applies"})
    log.info("recorded %d of %d episodes (%d frames) from %s", len(keep), episodes, ds.num_frames, run_dir)
    return ds, episodes - len(keep)


__all__ = ["record_policy_demos"]
