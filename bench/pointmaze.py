"""Point maze benchmark (TRIRL paper Sec. 5.1, Table 1): train, retrain and transfer scores.

Runs ``trirl examples pointmaze --transfer`` for each algorithm side by side (same seed, same
budget) and prints one line per algorithm; last line
``trirl <train> <retrain> <transfer> gail ... airl ...``.

    python bench/pointmaze.py [--algos trirl gail airl] [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import time

from trirl_ros.core.algo.pointmaze_experiment import FULL, QUICK, run_pointmaze


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=["trirl", "gail", "airl"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    budget = QUICK if args.quick else FULL
    last = []
    for algo in args.algos:
        t0 = time.perf_counter()
        r = run_pointmaze(algo, transfer=True, budget=budget, seed=args.seed)
        print(f"{algo:6s} train {r.score:.3f} retrain {r.retrain:.3f} transfer {r.transfer:.3f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
        last.append(f"{algo} {r.score:.3f} {r.retrain:.3f} {r.transfer:.3f}")
    print(" ".join(last))


if __name__ == "__main__":
    main()
