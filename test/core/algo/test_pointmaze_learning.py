"""CI-sized point-maze learning check: TRIRL (fixed seed, `--quick` budget) clearly beats random.

The full train / retrain / transfer comparison is the benchmark ``bench/pointmaze.py``.
Measured with this exact setting (seed 0, 100 iterations of 16 envs x 25 steps = 40k steps):
score 0.814 (`trirl examples pointmaze --algo trirl --quick`, about 30 s on an idle 2-core CPU,
3 min at load 10). The threshold sits below it and far above a random policy (score 0) and a
policy that only pushes into the middle wall (score ~0.4, where PPO on the true reward stalls).
"""

from trirl_ros.core.algo.pointmaze_experiment import QUICK, run_pointmaze

THRESHOLD = 0.6


def test_trirl_learns_point_maze_quick():
    res = run_pointmaze("trirl", transfer=False, budget=QUICK, seed=0)
    assert res.returns["expert"] > 1.1 and abs(res.returns["random"]) < 0.1
    assert res.score > THRESHOLD, f"TRIRL point-maze score {res.score:.3f} (returns {res.returns})"
