"""Scaling benchmark: env steps/s of the physics backends and learner time per iteration, side by side.

Rows, per robot: the CPU env (``backend: mujoco``, ``--threads`` MuJoCo threads) at ``--cpu-envs``;
MuJoCo Warp on warp's CPU device at ``--warp-cpu-envs`` (development only: slow); MuJoCo Warp on the
GPU at ``--gpu-envs`` where warp sees a CUDA device. Every env is stepped from its default pose
with the same small random actions (so the feet make and break contact), ``--steps`` policy steps
after one untimed step (warp compiles its kernels on first use). Then TRIRL's learner on a synthetic
rollout of the task's preset batch (``bench/learner.py``'s filler) on the CPU, and with the gpu preset's
networks and ``--gpu-envs``' largest batch on the GPU where present. Last lines: ``ratio <row> <x>``,
each row's env steps/s over the CPU env's at its largest count.

    .venv/bin/python bench/scale.py [--robots go2,g1_29dof] [--cpu-envs 64,256] [--warp-cpu-envs 8]
                                    [--gpu-envs 1024,4096] [--steps 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import learner  # noqa: E402  (bench/learner.py: synthetic rollouts)

from trirl_ros.core.algo.agent import make_agent  # noqa: E402
from trirl_ros.core.algo.transitions import Transitions  # noqa: E402
from trirl_ros.core.config import config_path  # noqa: E402
from trirl_ros.core.envs.config import load_env_config  # noqa: E402
from trirl_ros.core.envs.locomotion import LocomotionEnv  # noqa: E402
from trirl_ros.core.robots.spec import load_robot_spec  # noqa: E402
from trirl_ros.core.train.task import load_task_config  # noqa: E402

TASKS = {"go2": "go2_trot", "g1_29dof": "g1_walk"}


def cuda_for_warp() -> bool:
    try:
        import warp as wp

        from trirl_ros.core.envs.physics import quiet_init

        quiet_init(wp)
        return wp.get_cuda_device_count() > 0
    except ImportError:
        return False


def env_rate(robot_name: str, backend: str, device: str, num_envs: int, steps: int, threads: int) -> float:
    """Env steps/s (all envs) of ``steps`` policy steps after one untimed step."""
    robot = load_robot_spec(robot_name)
    cfg = dataclasses.replace(load_env_config(robot_name), backend=backend, backend_device=device,
                              terminate_on_fall=False)
    env = LocomotionEnv(robot, cfg, num_envs=num_envs, seed=0, num_threads=threads)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.3, 0.3, (steps + 1, num_envs, env.action_dim))
    try:
        env.reset()
        env.step(actions[0])
        t0 = time.perf_counter()
        for a in actions[1:]:
            env.step(a)
        return steps * num_envs / (time.perf_counter() - t0)
    finally:
        env.close()


def learner_seconds(robot_name: str, preset: str, num_envs: int, device: str, iters: int = 3) -> float:
    """Median s per TRIRL update (task preset networks) on a synthetic rollout of num_envs x horizon;
    the discriminators see the full observation (in training, the task's discriminator view)."""
    task = load_task_config(config_path("tasks", f"{TASKS[robot_name]}.yaml"), [f"preset={preset}"])
    robot = load_robot_spec(robot_name)
    obs_dim = task.env.obs.dim(robot.num_joints)
    agent = make_agent(task.algo, obs_dim, robot.num_joints, num_envs, device=device, seed=0)
    g = torch.Generator().manual_seed(0)
    expert = Transitions(torch.randn(4096, obs_dim, generator=g), torch.randn(4096, obs_dim, generator=g),
                         None, torch.zeros(4096, dtype=torch.bool)).to(device)
    times = []
    for _ in range(iters + 1):
        learner.fill(agent, g)
        t0 = time.perf_counter()
        agent.update(expert)
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--robots", default="go2,g1_29dof")
    ap.add_argument("--cpu-envs", default="64,256")
    ap.add_argument("--warp-cpu-envs", default="8")
    ap.add_argument("--gpu-envs", default="1024,4096")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-learner", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    gpu = cuda_for_warp()
    rows: list[tuple[str, float]] = []
    print(f"{'robot':10s} {'env':22s} {'envs':>6s} {'steps/s':>10s}")
    for name in args.robots.split(","):
        base = None
        for n in ints(args.cpu_envs):
            r = env_rate(name, "mujoco", "cpu", n, args.steps, args.threads)
            print(f"{name:10s} {'mujoco cpu x' + str(args.threads) + ' threads':22s} {n:6d} {r:10.0f}", flush=True)
            base = r
        for n in ints(args.warp_cpu_envs):
            r = env_rate(name, "warp", "cpu", n, args.steps, 1)
            print(f"{name:10s} {'warp cpu':22s} {n:6d} {r:10.0f}", flush=True)
            rows.append((f"{name}_warp_cpu_{n}", r / base))
        if gpu:
            for n in ints(args.gpu_envs):
                r = env_rate(name, "warp", "cuda", n, args.steps, 1)
                print(f"{name:10s} {'warp cuda':22s} {n:6d} {r:10.0f}", flush=True)
                rows.append((f"{name}_warp_cuda_{n}", r / base))
        else:
            print(f"{name:10s} {'warp cuda':22s} {'-':>6s} {'no CUDA device':>10s}")
        if not args.no_learner:
            cpu_envs = load_task_config(config_path("tasks", f"{TASKS[name]}.yaml")).num_envs
            s = learner_seconds(name, "cpu", cpu_envs, "cpu")
            print(f"{name:10s} learner TRIRL cpu preset, {cpu_envs} envs, cpu: {s:.3f} s/iter", flush=True)
            if torch.cuda.is_available():
                n = max(ints(args.gpu_envs))
                s = learner_seconds(name, "gpu", n, "cuda")
                print(f"{name:10s} learner TRIRL gpu preset, {n} envs, cuda: {s:.3f} s/iter", flush=True)
    for label, ratio in rows:
        print(f"ratio {label} {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
