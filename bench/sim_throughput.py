#!/usr/bin/env python3
"""Benchmark: locomotion env steps/s vs raw batched mj_step steps/s (same model, substeps).

Usage: python bench/sim_throughput.py --robot go2 --envs 64 --threads 2 --seconds 5
Same as `trirl bench sim ...`; last line `ratio <env/raw>` (target >= 0.85 with 2 threads).
"""

import sys

from trirl_ros.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "sim", *sys.argv[1:]]))
