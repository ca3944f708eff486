"""Point maze benchmark (TRIRL paper Sec. 5.1, Table 1): train, retrain and transfer scores.

Runs ``trirl examples pointmaze --transfer`` for each algorithm side by side (same seed, same
budget) and prints one line per algorithm; ``trirl+features`` is TRIRL with the feature-based
reward (``--features``). Last line ``trirl <train> <retrain> <transfer> trirl+features ... gail ...``.

    python bench/pointmaze.py [--algos trirl trirl+features gail airl] [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import time

from trirl_ros.core.examples.pointmaze import FULL, QUICK, run_pointmaze


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=["trirl", "trirl+features", "gail", "airl"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    budget = QUICK if args.quick else FULL
    last = []
    for algo in args.algos:
        t0 = time.perf_counter()
        name, _, features = algo.partition("+")
        if features not in ("", "features"):
            p.error(f"unknown variant {algo!r}: use <algo> or <algo>+features")
        r = run_pointmaze(name, transfer=True, budget=budget, seed=args.seed, features=features == "features")
        print(f"{algo:14s} train {r.score:.3f} retrain {r.retrain:.3f} transfer {r.transfer:.3f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
        last.append(f"{algo} {r.score:.3f} {r.retrain:.3f} {r.transfer:.3f}")
    print(" ".join(last))


if __name__ == "__main__":
    main()
