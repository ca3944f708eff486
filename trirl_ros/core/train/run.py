"""TrainingRun: one imitation-learning run (env + agent + expert transitions) in a run directory.

Run directory layout (``RUN_DIR``)::

    config.yaml              the resolved TaskConfig (what the exporter and --resume read)
    dataset.npz              the imported demonstrations (source rate)
    dataset.json             dataset fingerprint: source path + sha256, dataset sha256, rates, clips
    metrics.csv              one row per learner iteration (+ row 0: the untrained policy's score)
    tb/                      TensorBoard event files (same scalars)
    checkpoints/latest.pt    everything for an exact resume (weights-only loadable)
    checkpoints/best.pt      the policy of the best evaluation so far (highest mean score)
    reward.pt                the learned reward (reward learner state + discriminator view)
    policy.onnx, policy.yaml the exported deterministic policy and its deploy spec (at the end)
    summary.json             final numbers (at the end)

Data-parallel (``torchrun``, :mod:`.distributed`): every rank builds the same TrainingRun with its
:class:`DistContext`; rank 0 alone evaluates and writes the run folder (the other ranks log their
rows to ``ranks/rank<r>/metrics.csv``).

Driving it (CLI or a ROS node, from any one thread at a time; :meth:`request_stop` and
:meth:`request_checkpoint` may be called from another thread)::

    run = TrainingRun.create(cfg, run_dir)        # or TrainingRun.resume(run_dir)
    run.add_progress_callback(fn)                 # fn(row: dict) after every iteration
    while not run.done and not run.stop_requested:
        row = run.step_iteration()                # metrics of that iteration
    run.save_checkpoint(); run.finish()           # or simply run.run()
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from trirl_ros.core.algo.transitions import Transitions
from trirl_ros.core.config import to_dict
from trirl_ros.core.envs.locomotion import LocomotionEnv
from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.core.seeding import seed_everything
from trirl_ros.core.train import checkpoint as ckpt
from trirl_ros.core.train.data import PreparedDataset, load_saved, prepare_dataset, save_prepared
from trirl_ros.core.train.disc_view import DiscView, build_agent
from trirl_ros.core.train.distributed import (SINGLE, DistContext, agree_stop, check_identical, gather_rollouts,
                                             rank_device, state_digest)
from trirl_ros.core.train.evaluation import EvalResult, eval_commands, imitation_score, make_eval_env
from trirl_ros.core.train.metrics import MetricsLogger
from trirl_ros.core.train.reference import ReferenceMotion
from trirl_ros.core.train.task import TaskConfig, load_task_config, resolve_device, task_to_yaml
from trirl_ros.core.train.tracking import TrackingReward

log = logging.getLogger(__name__)

CONFIG = "config.yaml"
CHECKPOINT = Path("checkpoints") / "latest.pt"
BEST = Path("checkpoints") / "best.pt"  # the policy of the best evaluation so far (see _keep_best)
FORMAT = 1


def _rank_env_config(env_cfg, device):
    """A warp env on 'cuda' runs on this process's CUDA device (torchrun: cuda:LOCAL_RANK)."""
    dev = torch.device(device)
    if env_cfg.backend == "warp" and env_cfg.backend_device == "cuda" and dev.type == "cuda" and dev.index is not None:
        return dataclasses.replace(env_cfg, backend_device=str(dev))
    return env_cfg


class TrainingRun:
    """See the module doc. Counters: ``env_steps`` (all envs), ``iteration`` (learner updates)."""

    def __init__(self, cfg: TaskConfig, run_dir: str | Path, prepared: PreparedDataset, *,
                 resume_state: dict | None = None, tensorboard: bool = True, dist: DistContext = SINGLE) -> None:
        self.cfg, self.run_dir, self.dist = cfg, Path(run_dir), dist
        self.robot = load_robot_spec(cfg.robot)
        self.device = rank_device(resolve_device(cfg.device), dist)
        self.prepared = prepared
        seed_everything(cfg.seed)  # the same networks on every rank
        if cfg.torch_threads > 0:
            torch.set_num_threads(cfg.torch_threads)
        env_seed = dist.seed(cfg.seed)  # cfg.seed on rank 0 / single process
        self.env = LocomotionEnv(self.robot, _rank_env_config(cfg.env, self.device), cfg.num_envs, seed=env_seed,
                                 num_threads=cfg.num_threads)
        self.ref = ReferenceMotion(prepared.policy_rate, self.robot, self.env.model, self.env.default_qpos)
        self.view = DiscView.build(cfg.env.obs, cfg.discriminator_terms(), self.robot.num_joints)
        self.expert = self._expert_transitions()
        self.agent = build_agent(cfg.algo, self.env.observation_dim, self.env.action_dim, cfg.num_envs,
                                 self.view, self.device, cfg.seed)
        if dist.enabled:  # each rank explores with its own noise; the learner's stream stays shared
            self.agent.noise_generator = torch.Generator().manual_seed(env_seed + 7)
        self.rng = np.random.default_rng(env_seed + 1)  # reference-state initialisation draws
        self.tracking = self._make_tracking()
        self._track_sums: dict[str, float] = {}
        self._track_count = 0
        self.eval_env = (make_eval_env(self.env, cfg.eval.steps, cfg.eval.num_envs, seed=cfg.seed + 2)
                         if dist.is_main else None)
        self.env_steps = 0
        self.iteration = 0
        self.wall_s = 0.0
        self.last_eval: dict[str, float] | None = None
        self.best_eval: dict | None = None  # the evaluation behind checkpoints/best.pt
        self._ep_len = np.zeros(cfg.num_envs, dtype=np.int64)
        self._finished_lengths: list[int] = []
        self._callbacks: list[Callable[[dict], None]] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ckpt_request = threading.Event()
        self.config_sha256 = hashlib.sha256((self.run_dir / CONFIG).read_bytes()).hexdigest()
        if resume_state is not None:
            self._restore(resume_state)
        else:
            self.obs = self._initial_obs()
        log_dir = self.run_dir if dist.is_main else self.run_dir / "ranks" / f"rank{dist.rank}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.logger = MetricsLogger(log_dir, self.env_steps if resume_state is not None else None,
                                    tensorboard=tensorboard and dist.is_main)
        log.info("run %s: %s on %s, obs %d -> action %d, discriminator features %d (%s), %d expert "
                 "transitions, device %s", self.run_dir, cfg.algo.algorithm, self.robot.name,
                 self.env.observation_dim, self.env.action_dim, self.view.dim, ",".join(cfg.discriminator_terms()),
                 len(self.expert), self.device)

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, cfg: TaskConfig, run_dir: str | Path, tensorboard: bool = True,
               dist: DistContext = SINGLE) -> "TrainingRun":
        """Check the demonstrations (raises before anything is written), then create ``run_dir``
        (must not exist or be empty) with config.yaml and the dataset files (rank 0; the other
        ranks wait for it and read them)."""
        robot = load_robot_spec(cfg.robot)
        resolve_device(cfg.device)
        run_dir = Path(run_dir)
        if dist.is_main:
            prepared = prepare_dataset(cfg.dataset, robot)
            if run_dir.exists() and any(run_dir.iterdir()):
                raise FileExistsError(f"run directory {run_dir} exists and is not empty (use --resume to continue it)")
            (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            (run_dir / CONFIG).write_text(task_to_yaml(cfg))
            save_prepared(prepared, run_dir, robot)
        if dist.enabled:
            torch.distributed.barrier()
        if not dist.is_main:
            prepared = load_saved(run_dir, robot)
        return cls(cfg, run_dir, prepared, tensorboard=tensorboard, dist=dist)

    @classmethod
    def resume(cls, run_dir: str | Path, tensorboard: bool = True, dist: DistContext = SINGLE) -> "TrainingRun":
        """Continue ``run_dir`` from ``checkpoints/latest.pt`` with its unchanged config."""
        run_dir = Path(run_dir)
        if not (run_dir / CONFIG).is_file():
            raise FileNotFoundError(f"{run_dir}: no {CONFIG} (not a training run folder)")
        cfg = load_task_config(run_dir / CONFIG)
        state = ckpt.load_checkpoint(run_dir / CHECKPOINT)
        if state.get("format") != FORMAT:
            raise ValueError(f"{run_dir / CHECKPOINT}: unknown checkpoint format {state.get('format')!r}")
        robot = load_robot_spec(cfg.robot)
        prepared = load_saved(run_dir, robot)
        run = cls(cfg, run_dir, prepared, resume_state=state, tensorboard=tensorboard, dist=dist)
        if state.get("config_sha256") != run.config_sha256:
            raise ValueError(f"{run_dir / CONFIG} changed since the checkpoint was written")
        return run

    def _make_tracking(self) -> TrackingReward | None:
        """The tracking baseline's per-env phase and reward (algorithm 'tracking'), else None."""
        if self.cfg.algo.algorithm != "tracking":
            return None
        return TrackingReward(self.cfg.algo.tracking, self.ref, self.cfg.num_envs, self.env.model, self.robot)

    def _expert_transitions(self) -> Transitions:
        from trirl_ros.core.demos.processing import expert_transitions

        et = expert_transitions(self.prepared.policy_rate, self.robot, self.view.spec)
        return Transitions(et.obs, et.next_obs, None, et.absorbing).to(self.device)

    # ------------------------------------------------------------------ public API
    @property
    def total_steps(self) -> int:
        return self.cfg.total_steps

    @property
    def steps_per_iteration(self) -> int:
        """Env steps of one iteration, all ranks together."""
        return self.cfg.algo.ppo.horizon * self.cfg.num_envs * self.dist.world_size

    @property
    def done(self) -> bool:
        """The step budget is spent."""
        return self.env_steps >= self.cfg.total_steps

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask :meth:`run` to end after the current iteration (thread-safe)."""
        self._stop.set()

    def request_checkpoint(self) -> None:
        """Ask for a checkpoint after the current iteration (thread-safe, non-blocking)."""
        self._ckpt_request.set()

    def add_progress_callback(self, fn: Callable[[dict], None]) -> None:
        """``fn(row)`` after every iteration (and after the initial evaluation); row holds step,
        iteration, wall_s and the iteration's metrics (eval/score when evaluated)."""
        self._callbacks.append(fn)

    def evaluate(self) -> EvalResult:
        """Imitation score of the deterministic policy (see :mod:`.evaluation`); rank 0 only."""
        if self.eval_env is None:
            raise RuntimeError(f"evaluate: rank {self.dist.rank} has no evaluation env (rank 0 evaluates)")
        with self._lock:
            def policy(obs: np.ndarray) -> np.ndarray:
                return self.agent.act(obs, deterministic=True).cpu().numpy()

            res = imitation_score(self.eval_env, policy, self.ref, self.cfg.eval.steps, self.cfg.eval.init,
                                  eval_commands(self.cfg.env, self.cfg.eval.num_envs))
            self.last_eval = res.metrics()
            return res

    def evaluate_initial(self) -> dict:
        """Row 0: the untrained policy's score (only before the first iteration)."""
        with self._lock:
            t0 = time.perf_counter()
            row = {"step": 0, "iteration": 0, "wall_s": 0.0, **self.evaluate().metrics()}
            self.wall_s += time.perf_counter() - t0
            self.logger.log(row)
            self._emit(row)
            return row

    def step_iteration(self) -> dict[str, float]:
        """Collect ``horizon`` steps of every env, update the agent; evaluate / checkpoint on schedule.
        Returns the iteration's row of metrics."""
        with self._lock:
            t0 = time.perf_counter()
            self._collect()
            t1 = time.perf_counter()
            metrics = self.agent.update(self.expert, gather_rollouts(self.agent.storage, self.dist)
                                        if self.dist.enabled else None)
            t2 = time.perf_counter()
            self.iteration += 1
            row: dict[str, float] = {"step": self.env_steps, "iteration": self.iteration}
            row.update(metrics)
            row["time/rollout_s"], row["time/learner_s"] = t1 - t0, t2 - t1
            row["perf/steps_per_s"] = self.steps_per_iteration / max(t2 - t0, 1e-9)
            if self._finished_lengths:
                row["env/episode_length"] = float(np.mean(self._finished_lengths))
                self._finished_lengths = []
            if self._track_count:
                row.update({k: v / self._track_count for k, v in self._track_sums.items()})
                self._track_sums, self._track_count = {}, 0
            if self.dist.is_main and (self.iteration % self.cfg.eval.every_iters == 0 or self.done):
                t3 = time.perf_counter()
                res = self.evaluate()
                row.update(res.metrics())
                row["time/eval_s"] = time.perf_counter() - t3
                self._keep_best(res)
            if self.dist.enabled and self.iteration % self.cfg.checkpoint_every_iters == 0:
                self._check_ranks_identical()
            self.wall_s += time.perf_counter() - t0
            row["wall_s"] = self.wall_s
            self.logger.log(row)
            if self.iteration % self.cfg.checkpoint_every_iters == 0 or self._ckpt_request.is_set():
                self._ckpt_request.clear()
                self.save_checkpoint()
            self._emit(row)
            return row

    def _check_ranks_identical(self) -> None:
        """Every rank's learner state (networks, optimisers, discriminator buffer, learner random
        stream) equals rank 0's, or the run stops here: a diverged rank would train another policy."""
        state = self.agent.state_dict()
        state.pop("torch_rng", None)  # rank 0's evaluation may draw from the global stream
        if not check_identical(state_digest(state), self.dist):
            raise RuntimeError(f"data-parallel ranks diverged at iteration {self.iteration}: rank {self.dist.rank}'s "
                               "learner state differs from rank 0's (a non-deterministic op on this device?)")

    def _keep_best(self, res: EvalResult) -> None:
        """Write ``checkpoints/best.pt`` (policy, step, evaluation) when this evaluation's mean score
        beats the best so far. The mean already counts a fall (0 from then on); ranking "every
        episode up" first picked a Go2 pace policy that stood still (0.47, all up) over one that
        paced (0.78, 7 of 8 up)."""
        if self.best_eval is not None and res.score <= self.best_eval["score"]:
            return
        self.best_eval = {"score": res.score, "step": int(self.env_steps), **res.metrics()}
        ckpt.save_atomic({"format": FORMAT, "step": int(self.env_steps), "iteration": int(self.iteration),
                          "policy": self.agent.policy.state_dict(), "eval": dict(self.best_eval)},
                         self.run_dir / BEST)

    def save_checkpoint(self) -> Path:
        """Write ``checkpoints/latest.pt`` atomically (between iterations; blocks during one); rank 0
        alone writes (returns the path on every rank)."""
        if not self.dist.is_main:
            return self.run_dir / CHECKPOINT
        with self._lock:
            state = {
                "format": FORMAT, "step": int(self.env_steps), "iteration": int(self.iteration),
                "wall_s": float(self.wall_s), "config_sha256": self.config_sha256,
                "policy": self.agent.policy.state_dict(),  # read by the exporter
                "agent": self.agent.state_dict(),
                "global_rng": ckpt.capture_global_rng(),
                "run_rng": ckpt.generator_state(self.rng),
                "env": {"qpos": torch.from_numpy(self.env.get_qpos()), "qvel": torch.from_numpy(self.env.get_qvel()),
                        "episode_length": torch.from_numpy(self._ep_len.copy())},
                "last_eval": dict(self.last_eval or {}),
                "best_eval": dict(self.best_eval or {}),
            }
            env_rng = getattr(self.env, "_rng", None)
            if isinstance(env_rng, np.random.Generator):
                state["env"]["rng"] = ckpt.generator_state(env_rng)
            if self.tracking is not None:
                state["tracking"] = {"clip": torch.from_numpy(self.tracking.clip.copy()),
                                     "t": torch.from_numpy(self.tracking.t.copy())}
            path = ckpt.save_atomic(state, self.run_dir / CHECKPOINT)
            self.logger.flush()
            log.debug("checkpoint %s at step %d (iteration %d)", path, self.env_steps, self.iteration)
            return path

    def run(self, max_iterations: int | None = None) -> dict:
        """Train until the budget is spent, a stop is requested or ``max_iterations`` more
        iterations ran; always checkpoints; on a finished budget also :meth:`finish`. Returns
        :meth:`summary`."""
        if self.iteration == 0 and self.last_eval is None and self.dist.is_main:
            self.evaluate_initial()
        n = 0
        while (not self.done and not agree_stop(self.stop_requested, self.dist)
               and (max_iterations is None or n < max_iterations)):
            self.step_iteration()
            n += 1
        self.save_checkpoint()
        if self.done and self.dist.is_main:
            self.finish()
        return self.summary()

    def finish(self) -> dict:
        """After the budget: learned reward (reward.pt), exported ONNX policy, summary.json."""
        with self._lock:
            self.save_reward()
            if self.cfg.export:
                self.export()
            summary = self.summary()
            (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
            self.logger.flush()
            return summary

    def save_reward(self) -> Path:
        """``reward.pt``: the reward learner's state and how it views observations."""
        learner = self.agent.learner
        state = {"algorithm": self.cfg.algo.algorithm, "step": int(self.env_steps),
                 "learner": None if learner is None else learner.state_dict(),
                 "obs": to_dict(self.cfg.env.obs), "disc_terms": list(self.cfg.discriminator_terms()),
                 "view_columns": list(self.view.columns)}
        return ckpt.save_atomic(state, self.run_dir / "reward.pt")

    def export(self) -> Path:
        """Export ``checkpoints/latest.pt`` through the export module to ``RUN_DIR/policy.onnx``."""
        from trirl_ros.core.export.onnx_export import export_policy
        from trirl_ros.core.export.policy_modules import mean_action_graph
        from trirl_ros.core.export.run_dir import load_run

        loaded = load_run(self.run_dir)
        graph = mean_action_graph(loaded.policy)
        res = export_policy(graph.normalizer, graph.actor, loaded.robot, loaded.obs, self.run_dir / "policy.onnx",
                            fingerprint=loaded.fingerprint, seed=self.cfg.seed,
                            action_clip=loaded.action_clip)
        log.info("exported %s (max abs diff vs torch %.2g)", res.onnx_path, res.max_abs_diff)
        return res.onnx_path

    def summary(self) -> dict:
        score = None if self.last_eval is None else self.last_eval.get("eval/score")
        first = next((r.get("eval/score") for r in self.logger.rows if "eval/score" in r), None)
        onnx = self.run_dir / "policy.onnx"
        return {"run_dir": str(self.run_dir), "task": self.cfg.name, "algorithm": self.cfg.algo.algorithm,
                "robot": self.robot.name, "steps": int(self.env_steps), "iterations": int(self.iteration),
                "wall_s": round(self.wall_s, 2), "score": score, "initial_score": first,
                "onnx": str(onnx) if onnx.is_file() else None}

    def close(self) -> None:
        self.logger.close()
        self.env.close()
        if self.eval_env is not None:
            self.eval_env.close()

    # ------------------------------------------------------------------ internals
    def _emit(self, row: dict) -> None:
        for fn in list(self._callbacks):
            try:
                fn(row)
            except Exception:  # a broken observer must not kill training
                log.exception("progress callback failed")

    def _reference_reset(self, ids: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Move a ``reference_init`` fraction of envs ``ids`` (just reset to the default pose) to
        random demonstration states (the others' episodes end after ``standing_episode_s`` when
        set); returns the updated obs (N, D). The tracking baseline's
        phase of each env follows: the demonstration frame, or a random one for the default pose."""
        if len(ids) == 0:
            return obs
        if self.tracking is not None:
            self.tracking.random_phase(ids, self.rng)
        if self.cfg.reference_init <= 0:
            pick = ids[:0]
        else:
            pick = ids[self.rng.random(len(ids)) < self.cfg.reference_init]
        if self.cfg.standing_episode_s is not None:
            self.env.set_time_limit(np.setdiff1d(ids, pick), self.cfg.standing_episode_s)
        if len(pick) == 0:
            return obs
        frames = self.ref.sample_frames(self.rng, len(pick))
        if self.tracking is not None:
            self.tracking.set_phase(pick, frames)
        return self.env.reset_to(self.ref.qpos[frames], self.ref.qvel[frames], pick)

    def _initial_obs(self) -> np.ndarray:
        obs = self.env.reset()
        return self._reference_reset(np.arange(self.cfg.num_envs), obs)

    def _collect(self) -> None:
        agent, env, n = self.agent, self.env, self.cfg.num_envs
        reward = np.zeros(n)
        while not agent.ready:
            action = agent.act(self.obs)
            # the step's commands (the step may draw new ones), for the tracking reward
            commands = env.commands if self.tracking is not None else None
            next_obs, terminated, truncated, info = env.step(action.cpu().numpy())
            if self.tracking is not None:
                reward, parts = self.tracking.step(info["final_qpos"], info["final_qvel"], commands)
                for k, v in parts.items():
                    self._track_sums[k] = self._track_sums.get(k, 0.0) + v
                self._track_count += 1
            done = terminated | truncated
            self._ep_len += 1
            if done.any():
                ids = np.nonzero(done)[0]
                self._finished_lengths.extend(self._ep_len[ids].tolist())
                self._ep_len[ids] = 0
                next_obs = self._reference_reset(ids, next_obs)
            agent.process_step(self.obs, action, next_obs, reward, terminated, truncated, info["final_obs"])
            self.obs = next_obs
            self.env_steps += n * self.dist.world_size

    def _restore(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.env_steps, self.iteration = int(state["step"]), int(state["iteration"])
        self.wall_s = float(state.get("wall_s", 0.0))
        self.last_eval = dict(state.get("last_eval") or {}) or None
        self.best_eval = dict(state.get("best_eval") or {}) or None
        if self.dist.enabled:  # a new action-noise stream per rank (the checkpoint holds rank 0's alone)
            self.agent.noise_generator.manual_seed(self.dist.seed(self.cfg.seed) + 7 + self.iteration)
        if not self.dist.is_main:  # the checkpoint holds rank 0's envs: this rank's start afresh
            self.rng = np.random.default_rng(self.dist.seed(self.cfg.seed) + 1 + self.iteration)
            self.obs = self._initial_obs()
            ckpt.restore_global_rng(state["global_rng"])
            log.info("rank %d resumed %s at step %d with fresh envs", self.dist.rank, self.run_dir, self.env_steps)
            return
        env = state["env"]
        if "rng" in env and isinstance(getattr(self.env, "_rng", None), np.random.Generator):
            ckpt.set_generator_state(self.env._rng, env["rng"])
        # the episodes restart from the saved physics states (obs history refilled, last action 0)
        self.obs = self.env.reset_to(env["qpos"].numpy(), env["qvel"].numpy())
        self._ep_len = env["episode_length"].numpy().astype(np.int64).copy()
        ckpt.set_generator_state(self.rng, state["run_rng"])
        if self.tracking is not None:
            self.tracking.clip[:] = state["tracking"]["clip"].numpy()
            self.tracking.t[:] = state["tracking"]["t"].numpy()
        ckpt.restore_global_rng(state["global_rng"])
        log.info("resumed %s at step %d (iteration %d)", self.run_dir, self.env_steps, self.iteration)
