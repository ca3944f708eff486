"""Point Maze (TRIRL paper Sec. 5.1 / Table 1, after Fu et al. 2018) in MuJoCo, vectorised cheaply.

A 2-D point mass (slide joints x, y; force actuators in [-1, 1]) must get around a wall to a
goal. All N parallel environments live in ONE MuJoCo model: the ``agent`` body of
``assets/pointmaze.xml`` is replicated N times and agents only collide with walls, so one
``mj_step`` advances every environment.

* observation (N, 4): x, y, vx, vy (m, m/s)
* action (N, 2): force in [-1, 1] (clipped), 5 physics steps of 10 ms per control step
* ground-truth reward: progress to the goal, ``|p - g| - |p' - g|`` per step, so an episode's
  return is (initial - final) distance to the goal
* episodes end by time limit only (``truncated``), autoreset, ``info['final_obs']``
* ``flipped=True`` mirrors the walls in x: the opening moves from the left to the right
  (the transfer task of Table 1); start and goal stay on the symmetry axis.

Normalised score = (return - random) / (expert - random), :func:`normalized_score`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import mujoco
import numpy as np

GOAL = np.array([0.0, 0.2])
START = np.array([0.0, -0.3])
OBS_DIM, ACT_DIM = 4, 2


def maze_xml(num_envs: int, flipped: bool = False) -> str:
    """MJCF text with ``num_envs`` agents (``agent{i}``) and, if flipped, walls mirrored in x."""
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    path = Path(str(resources.files("trirl_ros") / "assets" / "pointmaze.xml"))
    if not path.is_file():
        raise FileNotFoundError(f"point maze model not found: {path}")
    root = ET.fromstring(path.read_text())
    world = root.find("worldbody")
    act = root.find("actuator")
    agent = world.find("body[@name='agent']")
    motors = act.findall("motor")
    world.remove(agent)
    for m in motors:
        act.remove(m)
    if flipped:
        for geom in world.findall("geom"):
            x, y, z = (float(v) for v in geom.get("pos", "0 0 0").split())
            geom.set("pos", f"{-x} {y} {z}")
    for i in range(num_envs):
        body = ET.fromstring(ET.tostring(agent))
        body.set("name", f"agent{i}")
        for el in body.iter():
            if el is not body and el.get("name"):
                el.set("name", f"{el.get('name')}{i}")
        world.append(body)
        for m in motors:
            mm = ET.fromstring(ET.tostring(m))
            mm.set("name", f"{m.get('name')}{i}")
            mm.set("joint", f"{m.get('joint')}{i}")
            act.append(mm)
    return ET.tostring(root, encoding="unicode")


class PointMazeEnv:
    """N point-mass mazes in one MuJoCo model. See the module docstring for spaces and reward."""

    observation_dim, action_dim = OBS_DIM, ACT_DIM

    def __init__(self, num_envs: int = 16, flipped: bool = False, time_limit: int = 100,
                 frame_skip: int = 5, start_noise: float = 0.02, seed: int = 0) -> None:
        if time_limit < 1 or frame_skip < 1:
            raise ValueError("time_limit and frame_skip must be >= 1")
        self.num_envs, self.flipped = int(num_envs), bool(flipped)
        self.time_limit, self.frame_skip, self.start_noise = int(time_limit), int(frame_skip), float(start_noise)
        self.model = mujoco.MjModel.from_xml_string(maze_xml(self.num_envs, self.flipped))
        self.data = mujoco.MjData(self.model)
        if self.model.nq != 2 * self.num_envs or self.model.nu != 2 * self.num_envs:
            raise RuntimeError("point maze model has an unexpected joint/actuator layout")
        self.rng = np.random.default_rng(seed)
        self.t = np.zeros(self.num_envs, dtype=np.int64)

    @property
    def dt(self) -> float:
        return self.model.opt.timestep * self.frame_skip

    def _obs(self) -> np.ndarray:
        pos = self.data.qpos.reshape(self.num_envs, 2)
        vel = self.data.qvel.reshape(self.num_envs, 2)
        return np.concatenate([pos, vel], axis=1).astype(np.float32)

    def _reset_ids(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        q = self.data.qpos.reshape(self.num_envs, 2)
        v = self.data.qvel.reshape(self.num_envs, 2)
        q[ids] = START + self.rng.uniform(-self.start_noise, self.start_noise, size=(len(ids), 2))
        v[ids] = 0.0
        self.t[ids] = 0

    def reset(self) -> np.ndarray:
        """Reset every env; returns obs (N, 4)."""
        mujoco.mj_resetData(self.model, self.data)
        self._reset_ids(np.arange(self.num_envs))
        mujoco.mj_forward(self.model, self.data)
        return self._obs()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """action (N, 2) -> (obs (N, 4), terminated (N,), truncated (N,), info{reward, final_obs})."""
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (self.num_envs, ACT_DIM):
            raise ValueError(f"action must have shape ({self.num_envs}, {ACT_DIM}), got {action.shape}")
        if not np.all(np.isfinite(action)):
            raise ValueError("action contains NaN or inf")
        pos0 = self.data.qpos.reshape(self.num_envs, 2).copy()
        self.data.ctrl[:] = np.clip(action, -1.0, 1.0).reshape(-1)
        for _ in range(self.frame_skip):
            mujoco.mj_step(self.model, self.data)
        obs = self._obs()
        reward = np.linalg.norm(pos0 - GOAL, axis=1) - np.linalg.norm(obs[:, :2] - GOAL, axis=1)
        self.t += 1
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = self.t >= self.time_limit
        info = {"reward": reward, "final_obs": obs.copy(),
                "distance": np.linalg.norm(obs[:, :2] - GOAL, axis=1)}
        if truncated.any():
            self._reset_ids(np.flatnonzero(truncated))
            mujoco.mj_forward(self.model, self.data)
            obs = self._obs()
        return obs, terminated, truncated, info


def expert_action(obs: np.ndarray, flipped: bool = False, gain: float = 10.0, damping: float = 1.5) -> np.ndarray:
    """Scripted expert: PD towards a waypoint in the wall's opening, then the goal.

    obs (N, 4) -> action (N, 2) in [-1, 1]. The opening is at x < -0.1 (x > 0.1 if flipped).
    """
    s = -1.0 if flipped else 1.0
    x, y = obs[:, 0] * s, obs[:, 1]  # work in the un-flipped frame
    target = np.tile(GOAL, (len(obs), 1))
    below = y < 0.03
    far = x > -0.2
    target[below & far] = (-0.25, -0.06)
    target[below & ~far] = (-0.25, 0.12)
    target[:, 0] *= s
    a = gain * (target - obs[:, :2]) - damping * obs[:, 2:]
    return np.clip(a, -1.0, 1.0)


def collect_expert(num_episodes: int, flipped: bool = False, noise: float = 0.1, seed: int = 0,
                   num_envs: int = 16, time_limit: int = 100):
    """Roll out the scripted expert; returns (obs (M, 4), next_obs (M, 4), action (M, 2), mean return).

    Actions are the noisy expert actions actually applied (clipped to [-1, 1]).
    """
    env = PointMazeEnv(num_envs, flipped, time_limit, seed=seed)
    rng = np.random.default_rng(seed + 1)
    obs = env.reset()
    S, S2, A, rets = [], [], [], []
    ret = np.zeros(num_envs)
    episodes = 0
    while episodes < num_episodes:
        a = np.clip(expert_action(obs, flipped) + noise * rng.standard_normal((num_envs, 2)), -1, 1)
        nxt, term, trunc, info = env.step(a)
        S.append(obs), S2.append(info["final_obs"]), A.append(a)
        ret += info["reward"]
        done = term | trunc
        for i in np.flatnonzero(done):
            rets.append(ret[i])
            ret[i] = 0.0
        episodes += int(done.sum())
        obs = nxt
    return (np.concatenate(S).astype(np.float32), np.concatenate(S2).astype(np.float32),
            np.concatenate(A).astype(np.float32), float(np.mean(rets)))


def normalized_score(ret: float, random_ret: float, expert_ret: float) -> float:
    """(return - random) / (expert - random)."""
    if not expert_ret > random_ret:
        raise ValueError(f"expert return {expert_ret} must exceed random return {random_ret}")
    return (ret - random_ret) / (expert_ret - random_ret)
