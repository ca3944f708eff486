"""The imitation score (TRIRL paper, G1 metric; used here for both robots) and tracking errors.

Per policy step t = 1..S of a deterministic rollout, with v the heading-frame linear velocity of
the robot's upper body (G1 torso, Go2 base) and the demonstration time-aligned (clip frame
(t0 + t) mod clip length from the episode's start frame t0: short clips loop)::

    score = (1 / S) * sum_t exp(-|| v_agent(t) - v_expert(t) ||^2)

An env that falls contributes 0 from then on, so 1.0 is perfect imitation over the whole S-step
episode (the paper: S = 1000). Joint tracking errors are RMS over joints, averaged over the steps
an env is alive.

One evaluation rolls out E episodes at once from different start phases (:func:`start_frames`):
env e takes clip e mod C and the (e // C)-th of its episodes' evenly spaced start frames in that
clip. One deterministic episode is bimodal (up 20 s or down in 1 s); E of them give the mean, the
worst episode and the fraction that stayed up. A policy *walks* when every episode stays up.
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
    """score in [0, 1] (mean over the E episodes); joint_pos_rmse rad; joint_vel_rmse rad/s;
    survival: mean fraction of the S steps the envs stayed up; per_env_score (E,); all_up: the
    fraction of episodes up for all S steps; velocity_rmse m/s: RMS of the scored velocity error
    over the steps the envs were up (a command-following policy's speed error); alive_steps (E,):
    the steps each episode stayed up (S for one that never fell)."""

    score: float
    joint_pos_rmse: float
    joint_vel_rmse: float
    survival: float
    per_env_score: tuple[float, ...]
    all_up: float
    velocity_rmse: float = float("nan")
    alive_steps: tuple[int, ...] = ()

    @property
    def score_min(self) -> float:
        return min(self.per_env_score)

    def metrics(self, prefix: str = "eval/") -> dict[str, float]:
        return {f"{prefix}score": self.score, f"{prefix}score_min": self.score_min,
                f"{prefix}all_up": self.all_up, f"{prefix}joint_pos_rmse": self.joint_pos_rmse,
                f"{prefix}joint_vel_rmse": self.joint_vel_rmse, f"{prefix}survival": self.survival,
                f"{prefix}velocity_rmse": self.velocity_rmse}


def make_eval_env(train_env: LocomotionEnv, steps: int, num_envs: int, seed: int = 0) -> LocomotionEnv:
    """An env like ``train_env`` without reset noise whose time limit lies past ``steps``, stepped on
    as many MuJoCo threads (each env's physics is the same on any thread: same scores, half the
    wall clock of one thread on the CPU preset's 2)."""
    return eval_env(train_env.robot, train_env.cfg, steps, num_envs, seed, train_env.num_threads)


def eval_env(robot, env_cfg, steps: int, num_envs: int, seed: int = 0, num_threads: int = 1) -> LocomotionEnv:
    """An env of ``robot`` with ``env_cfg`` (EnvConfig) but no reset noise, whose time limit lies past
    ``steps``, for evaluations and replays outside a training run."""
    cfg = dataclasses.replace(env_cfg, joint_pos_noise=0.0, joint_vel_noise=0.0, base_yaw_noise=0.0,
                              episode_length_s=(steps + 1) / robot.policy_hz, command_ranges=None,
                              command_resample_s=None)
    return LocomotionEnv(robot, cfg, num_envs=num_envs, seed=seed, num_threads=num_threads)


def start_frames(ref: ReferenceMotion, num_envs: int) -> tuple[np.ndarray, np.ndarray]:
    """clips (E,) and start steps t0 (E,) within them: env e takes clip e mod C and the
    (e // C)-th of n_c evenly spaced steps of that clip (n_c: the envs on clip c)."""
    e = np.arange(num_envs)
    clips = e % ref.num_clips
    per_clip = np.bincount(clips, minlength=ref.num_clips)
    t0 = (e // ref.num_clips) * ref.lengths[clips] // per_clip[clips]
    return clips, t0


def every_frame(ref: ReferenceMotion) -> tuple[np.ndarray, np.ndarray]:
    """clips (F,) and start steps t0 (F,) of every frame of every clip (F = ref.num_frames), in
    clip order: an evaluation with these starts tries every demonstration state once."""
    clips = np.repeat(np.arange(ref.num_clips), ref.lengths)
    t0 = np.arange(len(clips)) - np.repeat(np.asarray(ref.starts), ref.lengths)
    return clips, t0


def reference_scores(ref: ReferenceMotion) -> tuple[float, float]:
    """What two plain motions score against ``ref`` (the imitation score's formula, each frame once):
    (standing still, moving at each clip's mean velocity exactly). The second is what a robot that
    holds the clip's speed but none of its within-stride velocity changes would score: measured on
    the Go2 trot mocap 0.891 (standing 0.139, mean speed 1.42 m/s), the pace 0.980, the G1 walk 0.944."""
    v = ref.velocity
    standing = float(np.exp(-np.sum(v * v, axis=1)).mean())
    steady = []
    for start, length in zip(ref.starts, ref.lengths):
        d = v[start:start + length] - v[start:start + length].mean(axis=0)
        steady.append(np.exp(-np.sum(d * d, axis=1)))
    return standing, float(np.concatenate(steady).mean())


def eval_commands(env_cfg, num_envs: int) -> np.ndarray | None:
    """(E, 3) commands of a command-following evaluation (an env with ``command_ranges``): vx evenly
    spaced over its range (low to high), vy and wz at their ranges' midpoints; None without ranges."""
    if env_cfg.command_ranges is None:
        return None
    (vx_lo, vx_hi), vy, wz = env_cfg.command_ranges
    out = np.empty((num_envs, 3))
    out[:, 0] = np.linspace(vx_lo, vx_hi, num_envs)
    out[:, 1], out[:, 2] = 0.5 * (vy[0] + vy[1]), 0.5 * (wz[0] + wz[1])
    return out


def imitation_score(env: LocomotionEnv, policy: Callable[[np.ndarray], np.ndarray], ref: ReferenceMotion,
                    steps: int = 1000, init: str = "reference", commands: np.ndarray | None = None,
                    starts: tuple[np.ndarray, np.ndarray] | None = None) -> EvalResult:
    """Roll out ``policy`` (obs (E, D) -> action (E, J), deterministic) for ``steps`` steps in all
    E envs of ``env`` (whose time limit must lie beyond ``steps``) and score it against ``ref``.

    init 'reference': env e starts at its start frame (:func:`start_frames`); 'default': default
    pose (the reference track still starts at that frame).
    commands (E, 3): a command-following evaluation: env e is commanded (vx, vy, wz) and its
    velocity is scored against (vx, vy, 0) in the heading frame instead of the clip's; the joint
    errors still compare with the clip.
    starts: (clips (E,), t0 (E,)) instead of :func:`start_frames` (e.g. :func:`every_frame`).
    """
    if env.max_episode_steps <= steps:
        raise ValueError(f"eval env time limit {env.max_episode_steps} steps must exceed {steps}")
    E = env.num_envs
    clips, t0 = start_frames(ref, E) if starts is None else (np.asarray(starts[0]), np.asarray(starts[1]))
    if clips.shape != (E,) or t0.shape != (E,):
        raise ValueError(f"starts must give one clip and one start step per env ({E}), got {clips.shape} and {t0.shape}")
    target = None
    if commands is not None:
        env.set_commands(commands)
        target = np.column_stack([commands[:, 0], commands[:, 1], np.zeros(E)])
    obs = env.reset()
    if init == "reference":
        start = ref.frame_index(clips, t0)
        obs = env.reset_to(ref.qpos[start], ref.qvel[start])
    elif init != "default":
        raise ValueError(f"eval init must be 'reference' or 'default', got {init!r}")
    vel = BodyVelocity(env.model, env.robot, env.robot.upper_body)
    alive = np.ones(E, dtype=bool)
    total = np.zeros(E)
    pos_err = np.zeros(E)
    vel_err = np.zeros(E)
    sq_speed_err = 0.0
    alive_steps = np.zeros(E)
    for t in range(1, steps + 1):
        obs, terminated, truncated, _ = env.step(np.asarray(policy(obs), dtype=np.float32))
        alive &= ~(terminated | truncated)
        if not alive.any():
            break
        k = ref.frame_index(clips, t0 + t)
        ids = np.nonzero(alive)[0]
        qpos, qvel = env.get_qpos()[ids], env.get_qvel()[ids]
        dv = vel(qpos, qvel) - (ref.velocity[k[ids]] if target is None else target[ids])
        total[ids] += np.exp(-np.sum(dv * dv, axis=1))
        sq_speed_err += float(np.sum(dv * dv))
        state = env.state()
        jp = state.joint_pos[ids] - ref.joint_pos[k[ids]]
        jv = state.joint_vel[ids] - ref.joint_vel[k[ids]]
        pos_err[ids] += np.sqrt(np.mean(jp * jp, axis=1))
        vel_err[ids] += np.sqrt(np.mean(jv * jv, axis=1))
        alive_steps[ids] += 1
    per_env = total / steps
    live = np.maximum(alive_steps, 1)
    res = EvalResult(float(per_env.mean()), float(np.mean(pos_err / live)), float(np.mean(vel_err / live)),
                     float(np.mean(alive_steps / steps)), tuple(float(s) for s in per_env),
                     float(np.mean(alive_steps >= steps)),
                     float(np.sqrt(sq_speed_err / max(alive_steps.sum(), 1))),
                     tuple(int(n) for n in alive_steps))
    log.debug("imitation score %.4f (per env %s), survival %.2f", res.score, res.per_env_score, res.survival)
    return res
