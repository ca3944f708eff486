"""The imitation score (TRIRL paper, G1 metric; used here for both robots) and tracking errors.

Per policy step t = 1..S of a deterministic rollout, with v the heading-frame linear velocity of
the robot's upper body (G1 torso, Go2 base) and the demonstration time-aligned (clip frame
t mod clip length: short clips loop)::

    score = (1 / S) * sum_t exp(-|| v_agent(t) - v_expert(t) ||^2)

An env that falls contributes 0 from then on, so 1.0 is perfect imitation over the whole S-step
episode (the paper: S = 1000). Joint tracking errors are RMS over joints, averaged over the steps
an env is alive.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

from trirl_ros.core.envs.locomotion import LocomotionEnv
from trirl_ros.core.train.reference import BodyVelocity, ReferenceMotion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalResult:
    """score in [0, 1]; joint_pos_rmse rad; joint_vel_rmse rad/s; survival: mean fraction of the S
    steps the envs stayed up; per_env_score (E,)."""

    score: float
    joint_pos_rmse: float
    joint_vel_rmse: float
    survival: float
    per_env_score: tuple[float, ...]

    def metrics(self, prefix: str = "eval/") -> dict[str, float]:
        return {f"{prefix}score": self.score, f"{prefix}joint_pos_rmse": self.joint_pos_rmse,
                f"{prefix}joint_vel_rmse": self.joint_vel_rmse, f"{prefix}survival": self.survival}


def make_eval_env(train_env: LocomotionEnv, steps: int, num_envs: int, seed: int = 0) -> LocomotionEnv:
    """An env like ``train_env`` without reset noise whose time limit lies past ``steps``."""
    cfg = dataclasses.replace(train_env.cfg, joint_pos_noise=0.0, joint_vel_noise=0.0, base_yaw_noise=0.0,
                              episode_length_s=(steps + 1) / train_env.robot.policy_hz)
    return LocomotionEnv(train_env.robot, cfg, num_envs=num_envs, seed=seed, num_threads=1)


def imitation_score(env: LocomotionEnv, policy: Callable[[np.ndarray], np.ndarray], ref: ReferenceMotion,
                    steps: int = 1000, init: str = "reference") -> EvalResult:
    """Roll out ``policy`` (obs (E, D) -> action (E, J), deterministic) for ``steps`` steps in all
    E envs of ``env`` (whose time limit must lie beyond ``steps``) and score it against ``ref``.

    init 'reference': env e starts at the first frame of clip e mod C; 'default': default pose
    (the reference track still starts at the clip's first frame).
    """
    if env.max_episode_steps <= steps:
        raise ValueError(f"eval env time limit {env.max_episode_steps} steps must exceed {steps}")
    E = env.num_envs
    clips = np.arange(E) % ref.num_clips
    obs = env.reset()
    if init == "reference":
        start = ref.frame_index(clips, 0)
        obs = env.reset_to(ref.qpos[start], ref.qvel[start])
    elif init != "default":
        raise ValueError(f"eval init must be 'reference' or 'default', got {init!r}")
    vel = BodyVelocity(env.model, env.robot, env.robot.upper_body)
    alive = np.ones(E, dtype=bool)
    total = np.zeros(E)
    pos_err = np.zeros(E)
    vel_err = np.zeros(E)
    alive_steps = np.zeros(E)
    for t in range(1, steps + 1):
        obs, terminated, truncated, _ = env.step(np.asarray(policy(obs), dtype=np.float32))
        alive &= ~(terminated | truncated)
        if not alive.any():
            break
        k = ref.frame_index(clips, t)
        ids = np.nonzero(alive)[0]
        qpos, qvel = env.get_qpos()[ids], env.get_qvel()[ids]
        dv = vel(qpos, qvel) - ref.velocity[k[ids]]
        total[ids] += np.exp(-np.sum(dv * dv, axis=1))
        state = env.state()
        jp = state.joint_pos[ids] - ref.joint_pos[k[ids]]
        jv = state.joint_vel[ids] - ref.joint_vel[k[ids]]
        pos_err[ids] += np.sqrt(np.mean(jp * jp, axis=1))
        vel_err[ids] += np.sqrt(np.mean(jv * jv, axis=1))
        alive_steps[ids] += 1
    per_env = total / steps
    live = np.maximum(alive_steps, 1)
    res = EvalResult(float(per_env.mean()), float(np.mean(pos_err / live)), float(np.mean(vel_err / live)),
                     float(np.mean(alive_steps / steps)), tuple(float(s) for s in per_env))
    log.debug("imitation score %.4f (per env %s), survival %.2f", res.score, res.per_env_score, res.survival)
    return res
