"""``trirl examples``: small self-contained experiments from the TRIRL paper.

    trirl examples gridworld [--out DIR]        discrete TRIRL (paper Fig. 2, Algorithm 1)
    trirl examples pointmaze --algo trirl [--transfer] [--quick] [--features]
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


# ---- gridworld (ALGO-A) ---------------------------------------------------------------------


def _register_gridworld(sub) -> None:
    """Discrete TRIRL grid world (paper Fig. 2, Algorithm 1) with exact occupancies."""
    p = sub.add_parser(
        "gridworld", help="discrete TRIRL on a grid world with exact occupancies (paper Fig. 2)",
        description="Discrete TRIRL (TRIRL paper Algorithm 1, Fig. 2): learns a reward from a max-ent "
                    "expert on a 5x5 grid with known dynamics. Prints reverse KL(rho_pi || rho_E), "
                    "the dual objective and the multiplier per iteration, saves gridworld.png; the "
                    "last line is 'final_kl <value> monotone <true|false>'.")
    p.add_argument("--out", default="out/gridworld", help="folder for gridworld.png (created)")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--eps", type=float, default=0.5, help="reward step size epsilon (Eq. 2)")
    p.add_argument("--beta", type=float, default=100.0, help="distribution-matching weight beta")
    p.add_argument("--eta0", type=float, default=2000.0, help="initial KL penalty of the policy update")
    p.add_argument("--eta-decay", type=float, default=0.9, help="eta_i = max(eta_min, eta0 * decay^i)")
    p.add_argument("--eta-min", type=float, default=200.0)
    p.set_defaults(func=_run_gridworld)


def _run_gridworld(args) -> int:
    from pathlib import Path

    from trirl_ros.core.examples.gridworld import DiscreteTRIRLConfig, GridWorld, plot_result, run_discrete_trirl

    cfg = DiscreteTRIRLConfig(eps=args.eps, beta=args.beta, iterations=args.iterations,
                              eta0=args.eta0, eta_decay=args.eta_decay, eta_min=args.eta_min)
    env = GridWorld.build()
    print(f"{'iter':>4} {'reverse_kl':>11} {'policy_kl':>11} {'dual':>13} {'primal':>13} "
          f"{'eta':>8} {'eps_tr':>9} {'invariant':>9}")

    def show(i, res):
        print(f"{i:4d} {res.reverse_kl[i]:11.4e} {res.policy_kl[i]:11.4e} {res.dual[i]:13.7f} "
              f"{res.primal[i]:13.7f} {res.eta[i]:8.2f} {res.eps_tr[i]:9.2e} {res.invariant_err[i]:9.1e}",
              flush=True)

    res = run_discrete_trirl(env, cfg, callback=show)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = plot_result(env, res, out / "gridworld.png")
    print(f"saved {png}")
    print(f"final policy KL E_rho[KL(pi || pi_E)] {res.policy_kl[-1]:.3e}; duality gap "
          f"{res.primal[-1] - res.dual[-1]:.3e}; max |log pi_tr - log pi_MCE(r)| "
          f"{max(res.invariant_err):.1e}")
    print(f"final_kl {res.reverse_kl[-1]:.6e} monotone {'true' if res.monotone() else 'false'}")
    return 0


# ---- pointmaze (ALGO-B) ---------------------------------------------------------------------


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
    p.add_argument("--features", action="store_true",
                   help="feature-based reward (paper App. B, Fig. 9): linear in RBF features of the "
                        "position (section <algo>_features of config/algo/pointmaze.yaml; trirl only)")
    p.add_argument("--iterations", type=int, help="override the learner iterations of every stage")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="hyperparameter override on top of config/algo/<algo>.yaml + pointmaze.yaml")
    p.set_defaults(func=_run_pointmaze)


def _run_pointmaze(args) -> int:
    import dataclasses

    from trirl_ros.core.examples.pointmaze import FULL, QUICK, run_pointmaze

    budget = QUICK if args.quick else FULL
    if args.iterations is not None:
        if args.iterations < 1:
            raise ValueError(f"--iterations must be >= 1, got {args.iterations}")
        budget = dataclasses.replace(budget, iterations=args.iterations, retrain_iterations=args.iterations)

    def progress(stage, i, m):
        if "env/episode_return" in m and (i + 1) % 20 < 4:
            print(f"{stage:8s} iter {i + 1:4d}  env return {m['env/episode_return']:+.3f}", flush=True)

    res = run_pointmaze(args.algo, args.transfer, budget, args.seed, args.overrides, progress, args.features)
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
