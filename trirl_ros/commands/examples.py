"""``trirl examples``: small self-contained experiments from the TRIRL paper.

    trirl examples gridworld [--out DIR]        discrete TRIRL (paper Fig. 2, Algorithm 1)
    trirl examples pointmaze --algo trirl [--transfer] [--quick]
                                                point maze (paper Sec. 5.1, Table 1)
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser("examples", help="paper examples: grid world, point maze",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="example", metavar="EXAMPLE")
    sub.required = True
    _register_gridworld(sub)
    _register_pointmaze(sub)


def _register_gridworld(sub) -> None:
    """Discrete TRIRL grid world (owned by the ALGO-A developer; registered there)."""


def _register_pointmaze(sub) -> None:
    p = sub.add_parser(
        "pointmaze", help="point maze: train an IRL algorithm, retrain on its reward, transfer",
        description="Point maze (TRIRL paper Sec. 5.1, Table 1). Prints normalised scores "
                    "(return - random) / (expert - random); the last line is "
                    "'score <train> retrain <value> transfer <value>' (the last two with --transfer).")
    p.add_argument("--algo", default="trirl", choices=["trirl", "gail", "airl", "amp", "mlirl", "piro"])
    p.add_argument("--transfer", action="store_true",
                   help="also retrain fresh PPO on the frozen learned reward, on the maze and the flipped maze")
    p.add_argument("--quick", action="store_true", help="CI-sized budget (about a minute per stage)")
    p.add_argument("--iterations", type=int, help="override the learner iterations of every stage")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="hyperparameter override on top of config/algo/<algo>.yaml + pointmaze.yaml")
    p.set_defaults(func=_run_pointmaze)


def _run_pointmaze(args) -> int:
    import dataclasses

    from trirl_ros.core.algo.pointmaze_experiment import FULL, QUICK, run_pointmaze

    budget = QUICK if args.quick else FULL
    if args.iterations is not None:
        if args.iterations < 1:
            raise ValueError(f"--iterations must be >= 1, got {args.iterations}")
        budget = dataclasses.replace(budget, iterations=args.iterations, retrain_iterations=args.iterations)

    def progress(stage, i, m):
        if "env/episode_return" in m and (i + 1) % 20 < 4:
            print(f"{stage:8s} iter {i + 1:4d}  env return {m['env/episode_return']:+.3f}", flush=True)

    res = run_pointmaze(args.algo, args.transfer, budget, args.seed, args.overrides, progress)
    r = res.returns
    print(f"returns: expert {r['expert']:.3f} random {r['random']:.3f} {args.algo} {r['train']:.3f}")
    line = f"score {res.score:.3f}"
    if args.transfer:
        print(f"retrain return {r.get('retrain', float('nan')):.3f}; flipped maze: expert "
              f"{r.get('expert_flipped', float('nan')):.3f} random {r.get('random_flipped', float('nan')):.3f} "
              f"transfer {r.get('transfer', float('nan')):.3f}")
        fmt = lambda v: "nan" if v is None else f"{v:.3f}"  # noqa: E731
        line += f" retrain {fmt(res.retrain)} transfer {fmt(res.transfer)}"
    print(line)
    return 0
