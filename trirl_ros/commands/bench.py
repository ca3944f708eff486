"""`trirl bench sim`: env steps/s vs raw batched mj_step steps/s (see bench/sim_throughput.py)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks")
    sub = parser.add_subparsers(dest="bench_command", metavar="BENCH")
    sub.required = True
    sim = sub.add_parser("sim", help="locomotion env throughput vs raw batched mj_step")
    sim.add_argument("--robot", default="go2", help="robot name (default go2)")
    sim.add_argument("--envs", type=int, default=64, help="number of envs N (default 64)")
    sim.add_argument("--threads", type=int, default=2, help="threads T (default 2)")
    sim.add_argument("--seconds", type=float, default=5.0, help="wall seconds per measurement (default 5)")
    sim.add_argument("--repeats", type=int, default=3, help="alternating env/raw measurements (default 3)")
    sim.set_defaults(func=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    from trirl_ros.core.envs.throughput import measure

    res = measure(args.robot, args.envs, args.threads, args.seconds, args.repeats)
    print(f"robot {res.robot}  envs {res.envs}  threads {res.threads}  substeps {res.substeps}  "
          f"repeats {res.repeats} x {args.seconds:g} s")
    print(f"env steps/s            {res.env_steps_per_s:12.1f}  (= {res.env_steps_per_s * res.substeps:.0f} physics steps/s)")
    print(f"raw mj_step steps/s    {res.raw_physics_per_s:12.1f}  (best of: thread pool {res.raw_pool_per_s:.0f}, "
          f"mujoco.rollout {res.raw_rollout_per_s:.0f})")
    print(f"raw as env steps/s     {res.raw_physics_per_s / res.substeps:12.1f}")
    print(f"ratio {res.ratio:.3f}")
    return 0
