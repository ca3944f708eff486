import numpy as np
import pytest

from trirl_ros.core.envs.pointmaze import GOAL, PointMazeEnv, collect_expert, expert_action, normalized_score


def test_spaces_progress_reward_and_time_limit():
    env = PointMazeEnv(num_envs=3, time_limit=10, seed=0)
    obs = env.reset()
    assert obs.shape == (3, 4) and obs.dtype == np.float32
    d0 = np.linalg.norm(obs[:, :2] - GOAL, axis=1)
    total = np.zeros(3)
    for t in range(10):
        obs, term, trunc, info = env.step(np.tile([0.0, 1.0], (3, 1)))
        total += info["reward"]
    assert trunc.all() and not term.any()
    # progress rewards telescope: return = initial - final distance
    assert np.allclose(total, d0 - info["distance"], atol=1e-9)
    assert np.allclose(obs[:, 2:], 0.0)  # autoreset to rest
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.full((3, 2), np.nan))


def test_wall_blocks_straight_path_and_flip_mirrors_it():
    for flipped in (False, True):
        env = PointMazeEnv(num_envs=1, flipped=flipped, time_limit=60, start_noise=0.0)
        env.reset()
        for _ in range(40):
            _, _, _, info = env.step(np.array([[0.0, 1.0]]))
        assert info["final_obs"][0, 1] < 0.0  # stuck below the middle wall
    left = PointMazeEnv(num_envs=1, time_limit=100, start_noise=0.0)
    right = PointMazeEnv(num_envs=1, flipped=True, time_limit=100, start_noise=0.0)
    for env, sign in ((left, -1.0), (right, 1.0)):
        env.reset()
        for _ in range(40):
            obs, _, _, _ = env.step(np.array([[0.9 * sign, 0.0]]))
        for _ in range(30):
            obs, _, _, _ = env.step(np.array([[0.0, 1.0]]))
        assert obs[0, 1] > 0.2  # the opening is on the mirrored side


def test_expert_reaches_goal_in_both_mazes_and_beats_random():
    for flipped in (False, True):
        s, s2, a, ret = collect_expert(4, flipped=flipped, num_envs=4)
        assert s.shape == s2.shape and a.shape == (len(s), 2)
        assert ret > 0.45  # start-goal distance is 0.5
    assert normalized_score(0.6, 0.0, 1.2) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="exceed"):
        normalized_score(0.5, 1.0, 1.0)
    assert np.all(np.abs(expert_action(np.zeros((2, 4)))) <= 1.0)
