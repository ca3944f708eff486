"""Discrete TRIRL (Algorithm 1) on the grid world: monotone KL/dual, expert recovered, exact steps."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from trirl_ros.core.examples.gridworld import (
    DiscreteTRIRLConfig,
    GridWorld,
    GridWorldConfig,
    corrected_step,
    expert_policy,
    occupancy,
    reward_update,
    run_discrete_trirl,
    soft_value_iteration,
    state_occupancy,
)


@pytest.fixture(scope="module")
def env():
    return GridWorld.build()


@pytest.fixture(scope="module")
def result(env):
    return run_discrete_trirl(env, DiscreteTRIRLConfig())


def test_reverse_kl_never_increases_and_dual_never_decreases(result):
    kl, dual = np.asarray(result.reverse_kl), np.asarray(result.dual)
    assert np.all(np.diff(kl) <= 1e-12), np.diff(kl).max()
    assert np.all(np.diff(dual) >= -1e-12), np.diff(dual).min()
    assert kl[0] > 1.0 and result.monotone()
    # weak duality: the dual bounds the primal loss from below at every iteration
    assert np.all(np.asarray(result.dual) <= np.asarray(result.primal) + 1e-9)


def test_final_policy_matches_the_expert(result):
    assert result.reverse_kl[-1] < 1e-3
    assert result.policy_kl[-1] < 1e-3
    assert np.abs(result.policy - result.expert_policy).max() < 0.01


def test_trust_region_policy_is_mce_optimal_for_the_corrected_reward(env, result):
    # Theorem 3.2 / Algorithm 1 line 9, checked at every iteration of the run
    assert max(result.invariant_err) < 1e-8
    # ... and it is NOT MCE-optimal for the uncorrected intermediate reward r~ (so the check bites)
    expert = expert_policy(env)
    rho_e = occupancy(env, expert)
    pi0 = np.full((env.n_states, env.n_actions), 1.0 / env.n_actions)
    ratio = np.log(rho_e) - np.log(occupancy(env, pi0))
    r_tilde = reward_update(np.zeros_like(ratio), ratio, 0.5, 100.0)
    pi_tr, _ = soft_value_iteration(env, r_tilde, prior=pi0, eta=2000.0)
    pi_mce_tilde, _ = soft_value_iteration(env, r_tilde)
    pi_mce_corrected, _ = soft_value_iteration(env, reward_update(np.zeros_like(ratio), ratio, 0.5 / 2001.0, 100.0))
    assert np.abs(np.log(pi_tr) - np.log(pi_mce_corrected)).max() < 1e-9
    assert np.abs(np.log(pi_tr) - np.log(pi_mce_tilde)).max() > 1.0


def test_reward_correction_step_hand_computed():
    r = np.array([[1.0, 2.0]])
    d = np.array([[0.5, -1.0]])
    # eps_tr = 0.5 / (1 + 1) = 0.25; r = 0.75 r + 0.25 * 2 * D = (1.0, 1.0)
    step = corrected_step(0.5, 1.0)
    assert step == 0.25
    np.testing.assert_allclose(reward_update(r, d, step, 2.0), [[1.0, 1.0]], rtol=0, atol=1e-15)
    # the intermediate reward with the full step: 0.5 r + 0.5 * 2 * D = (1.0, 0.0)
    np.testing.assert_allclose(reward_update(r, d, 0.5, 2.0), [[1.0, 0.0]], rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="eta must be >= 0"):
        corrected_step(0.5, -0.1)


def test_lax_trust_region_breaks_monotonicity(env):
    # eps_tr * beta ~ 1: the reward iteration overshoots (paper Sec. 6 failure mode), so the
    # monotonicity check must report it
    res = run_discrete_trirl(env, DiscreteTRIRLConfig(eta0=50.0, eta_min=50.0, iterations=30))
    assert not res.monotone()
    assert max(np.diff(res.reverse_kl)) > 1e-3


def test_occupancy_satisfies_bellman_flow_and_sums_to_one(env):
    rng = np.random.default_rng(0)
    policy = rng.dirichlet(np.ones(env.n_actions), size=env.n_states)
    rho = occupancy(env, policy)
    assert rho.sum() == pytest.approx(1.0, abs=1e-12)
    mu = state_occupancy(env, policy)
    inflow = (1 - env.gamma) * env.mu0 + env.gamma * np.einsum("sa,sat->t", rho, env.P)
    np.testing.assert_allclose(mu, inflow, atol=1e-14)


def test_newton_and_plain_soft_value_iteration_agree(env):
    rng = np.random.default_rng(1)
    reward = rng.normal(size=(env.n_states, env.n_actions))
    prior = rng.dirichlet(np.ones(env.n_actions), size=env.n_states)
    pi_n, v_n = soft_value_iteration(env, reward, prior=prior, eta=3.0)
    pi_s, v_s = soft_value_iteration(env, reward, prior=prior, eta=3.0, newton=False)
    np.testing.assert_allclose(v_n, v_s, atol=1e-9)
    np.testing.assert_allclose(pi_n, pi_s, atol=1e-10)
    # soft Bellman optimality of the Newton solution
    q = reward + 3.0 * np.log(prior) + env.gamma * env.P @ v_n
    np.testing.assert_allclose(v_n, 4.0 * np.log(np.exp(q / 4.0).sum(1)), atol=1e-10)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="eps must be in"):
        DiscreteTRIRLConfig(eps=0.0)
    with pytest.raises(ValueError, match="goal .* outside"):
        GridWorldConfig(goal=(5, 0))
    env = GridWorld.build()
    with pytest.raises(ValueError, match="reward contains NaN"):
        soft_value_iteration(env, np.full((env.n_states, env.n_actions), np.nan))


def test_cli_prints_per_iteration_and_saves_png(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "trirl_ros.cli", "examples", "gridworld", "--out", str(tmp_path),
         "--iterations", "40"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.strip().splitlines()
    assert out[-1].startswith("final_kl ") and out[-1].endswith(" monotone true")
    assert float(out[-1].split()[1]) < 1e-3
    assert sum(1 for line in out if line.split()[:1] and line.split()[0].isdigit()) == 41
    png = tmp_path / "gridworld.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
