"""Env throughput vs raw batched ``mj_step`` for the same model and substeps (benchmark core).

Measured side by side in interleaved blocks of ~0.2 s (``repeats`` x ``seconds`` of each in
total) so that load from other processes hits all alike:

- env: ``LocomotionEnv.step`` with zero actions (N envs, T threads, the robot's default env
  config without reset noise: all robots stand), in env steps/s;
- raw, best of two batched baselines on the env's own model (PD actuators, default targets,
  N standing robots, T threads), in physics steps/s:
  a thread pool of T workers calling ``mj_step(model, data, nstep=substeps)`` over their envs,
  and ``mujoco.rollout`` (C threads) chaining ``substeps``-step rollouts.

``ratio = env_steps_per_s * substeps / raw_physics_per_s`` (1.0 = no env overhead).
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np
from mujoco import rollout as mj_rollout

from trirl_ros.core.envs.config import load_env_config
from trirl_ros.core.envs.locomotion import LocomotionEnv
from trirl_ros.core.robots.spec import load_robot_spec


@dataclasses.dataclass(frozen=True)
class ThroughputResult:
    robot: str
    envs: int
    threads: int
    substeps: int
    repeats: int
    env_steps_per_s: float  # policy steps of all envs per second
    raw_pool_per_s: float  # physics steps per second
    raw_rollout_per_s: float  # physics steps per second

    @property
    def raw_physics_per_s(self) -> float:
        return max(self.raw_pool_per_s, self.raw_rollout_per_s)

    @property
    def ratio(self) -> float:
        return self.env_steps_per_s * self.substeps / self.raw_physics_per_s


def _timed(fn, seconds: float) -> tuple[int, float]:
    """Call fn() until ``seconds`` have passed; return (calls, elapsed)."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls, elapsed


def measure(robot_name: str, envs: int, threads: int, seconds: float, repeats: int = 3) -> ThroughputResult:
    if envs < 1 or threads < 1 or seconds <= 0 or repeats < 1:
        raise ValueError("envs, threads and repeats must be >= 1 and seconds > 0")
    robot = load_robot_spec(robot_name)
    # no reset noise: every robot stands still in both the env and the raw baselines, so both
    # integrate the same contact situation (a fallen robot has many more contacts)
    cfg = dataclasses.replace(load_env_config(robot.name), joint_pos_noise=0.0, joint_vel_noise=0.0)
    env = LocomotionEnv(robot, cfg, num_envs=envs, seed=0, num_threads=threads)
    env.reset()
    model, n = env.model, robot.substeps
    zeros = np.zeros((envs, robot.num_joints), np.float32)

    # raw baselines start from the env's own reset states (same noise, same contacts)
    qpos0, qvel0 = env.get_qpos(), env.get_qvel()
    datas = [mujoco.MjData(model) for _ in range(envs)]
    for i, d in enumerate(datas):
        d.qpos[:], d.qvel[:] = qpos0[i], qvel0[i]
        d.ctrl[env._act] = robot.default_pos
        mujoco.mj_forward(model, d)
    bounds = np.linspace(0, envs, min(threads, envs) + 1).astype(int)
    chunks = [datas[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    pool = ThreadPoolExecutor(len(chunks))

    def step_chunk(chunk):
        for d in chunk:
            mujoco.mj_step(model, d, nstep=n)

    def raw_pool():
        for f in [pool.submit(step_chunk, c) for c in chunks]:
            f.result()

    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    state = np.stack([_get_state(model, d, spec) for d in datas])
    control = np.tile(datas[0].ctrl, (envs, n, 1))  # (N, substeps, nu)
    models = [model] * envs
    roll = mj_rollout.Rollout(nthread=threads)
    roll_datas = [mujoco.MjData(model) for _ in range(threads)]
    out = np.empty((envs, n, state.shape[1]))

    def raw_rollout():
        roll.rollout(models, roll_datas, state, control, nstep=n, state=out, skip_checks=True)
        state[:] = out[:, -1]

    # Interleave short blocks (~0.2 s each) of the three so that the load of other processes,
    # which drifts over seconds, hits all of them alike; `repeats` x `seconds` per method.
    fns = {"env": lambda: env.step(zeros), "pool": raw_pool, "rollout": raw_rollout}
    calls = dict.fromkeys(fns, 0)
    spent = dict.fromkeys(fns, 0.0)
    try:
        for fn in fns.values():
            fn()  # warm-up
        while min(spent.values()) < seconds * repeats:
            for key, fn in fns.items():
                c, t = _timed(fn, 0.2)
                calls[key] += c
                spent[key] += t
    finally:
        env.close()
        pool.shutdown()
        roll.close()
    env_calls, env_time = calls["env"], spent["env"]
    pool_calls, pool_time = calls["pool"], spent["pool"]
    roll_calls, roll_time = calls["rollout"], spent["rollout"]
    return ThroughputResult(robot.name, envs, threads, n, repeats,
                            env_steps_per_s=envs * env_calls / env_time,
                            raw_pool_per_s=envs * n * pool_calls / pool_time,
                            raw_rollout_per_s=envs * n * roll_calls / roll_time)


def _get_state(model, data, spec) -> np.ndarray:
    out = np.empty(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, data, out, spec)
    return out
