"""Agent API on the real point-maze env: every algorithm runs, metrics are namespaced, resume is exact."""

import copy

import numpy as np
import pytest
import torch

from trirl_ros.core.algo.agent import AGENTS, make_agent
from trirl_ros.core.examples.pointmaze import maze_config
from trirl_ros.core.algo.runner import OnPolicyRunner
from trirl_ros.core.envs.pointmaze import PointMazeEnv
from trirl_ros.core.seeding import seed_everything

TINY = ["ppo.horizon=5", "ppo.epochs=2", "ppo.num_minibatches=2", "disc.epochs=2", "disc.minibatch=16",
        "trirl.buffer_size=3", "trirl.rfit_epochs=2", "trirl.rfit_minibatch=16",
        "policy.hidden=[16]", "policy.critic_hidden=[16]", "disc.hidden=[16]", "trirl.rfit_hidden=[16]"]


def run(algo, expert, iterations, overrides=(), seed=0):
    cfg = maze_config(algo, [*TINY, *overrides])
    agent = make_agent(cfg, 4, 2, num_envs=4, seed=seed)
    runner = OnPolicyRunner(PointMazeEnv(4, seed=seed), agent, expert, -1.0, 1.0)
    return agent, runner, runner.run(iterations)


@pytest.mark.parametrize("algo", ["trirl", "gail", "airl", "amp", "mlirl", "piro"])
def test_every_algorithm_runs_and_namespaces_metrics(algo, expert):
    agent, _, hist = run(algo, expert, 2)
    m = hist[-1]
    for k, v in m.items():
        assert k.split("/")[0] in {"losses", "disc", "reward", "tr", "policy", "env", "time"}, k
        assert np.isfinite(v), k
    assert "losses/policy" in m and "losses/value" in m
    r = agent.reward(torch.zeros(3, 4), torch.ones(3, 4))
    assert r.shape == (3,) and torch.isfinite(r).all()
    a = agent.act(torch.zeros(3, 4))
    assert a.shape == (3, 2)


@pytest.mark.parametrize("variant", ["max_eta", "tr_loss", "retrospective_eta"])
def test_trirl_variants_fill_buffer_and_report_eta(variant, expert):
    agent, _, hist = run("trirl", expert, 4, [f"trirl.variant={variant}", "trirl.epsilon=0.5"])
    assert len(agent.learner.buffer) == 3  # capacity 3 after 4 iterations
    assert hist[-1]["tr/eta"] >= 0.0
    step = hist[-1]["tr/step"]
    assert step == pytest.approx(0.5 / (1.0 + hist[-1]["tr/eta"]))
    if variant == "tr_loss":
        assert hist[-1]["tr/eta"] == pytest.approx(80.0)


def test_exact_resume(expert):
    agent, runner, _ = run("trirl", expert, 2)
    state = copy.deepcopy(agent.state_dict())
    env_state = (runner.env.data.qpos.copy(), runner.env.data.qvel.copy(), runner.env.t.copy(),
                 copy.deepcopy(runner.env.rng), runner.obs.copy())
    m1 = runner.iterate()
    # a fresh agent restored from the checkpoint continues identically
    clone = make_agent(agent.cfg, 4, 2, num_envs=4, seed=123)
    clone.load_state_dict(state)
    env = PointMazeEnv(4, seed=0)
    runner2 = OnPolicyRunner(env, clone, expert, -1.0, 1.0)  # resets the env: restore it after
    env.data.qpos[:], env.data.qvel[:], env.t[:] = env_state[0], env_state[1], env_state[2]
    env.rng = env_state[3]
    runner2.obs = env_state[4]
    m2 = runner2.iterate()
    for k in m1:
        if not k.startswith(("time/", "env/")):  # wall time; episode tracker restarted
            assert m1[k] == pytest.approx(m2[k], rel=1e-6, abs=1e-9), k
    for (k, v1), v2 in zip(agent.policy.state_dict().items(), clone.policy.state_dict().values()):
        assert torch.allclose(v1, v2, atol=1e-7), k


def test_process_step_requires_final_obs_and_update_requires_full_rollout(expert):
    cfg = maze_config("gail", TINY)
    agent = make_agent(cfg, 4, 2, num_envs=2)
    obs = torch.zeros(2, 4)
    a = agent.act(obs)
    with pytest.raises(ValueError, match="final_obs"):
        agent.process_step(obs, a, obs, np.zeros(2), np.array([True, False]), np.zeros(2, bool))
    with pytest.raises(RuntimeError, match="rollout incomplete"):
        agent.update(expert)
    with pytest.raises(ValueError, match="obs must be"):
        agent.act(torch.zeros(2, 5))
    assert set(AGENTS) == {"trirl", "gail", "airl", "amp", "mlirl", "piro", "ppo", "tracking"}


@pytest.mark.parametrize("algo", ["trirl", "gail"])
def test_min_agent_absorbing_reward_is_the_batch_minimum(algo, expert):
    """absorbing_reward: min_agent makes a fall worth the lowest per-step reward of the update forever
    (V(s_a) = gamma / (1 - gamma) * that), never more than staying up."""
    cfg = maze_config(algo, [*TINY, "absorbing_reward=min_agent"])
    agent = make_agent(cfg, 4, 2, num_envs=4, seed=0)
    runner = OnPolicyRunner(PointMazeEnv(4, seed=0), agent, expert, -1.0, 1.0)
    runner.iterate()
    seen = {}
    real_reward = agent.learner.reward

    def spy(batch):
        out = real_reward(batch)
        seen.setdefault("agent", out[:agent.storage.T * agent.storage.N].clone())
        return out

    agent.learner.reward = spy
    m = runner.iterate()
    assert m["reward/absorbing"] == pytest.approx(float(seen["agent"].min()))
    with pytest.raises(ValueError, match=r"absorbing_reward: 'zero' is not one of \['learned', 'min_agent'\]"):
        maze_config(algo, [*TINY, "absorbing_reward=zero"])


def run_overlap(expert, variant, overlap):
    cfg = maze_config("trirl", [*TINY, f"trirl.variant={variant}", "trirl.rfit_expert_fraction=0.5"])
    seed_everything(3)
    agent = make_agent(cfg, 4, 2, num_envs=4, seed=3)
    agent.learner.overlap = overlap
    hist = OnPolicyRunner(PointMazeEnv(4, seed=3), agent, expert, -1.0, 1.0).run(6)  # buffer of 3: 3 evictions
    return agent, hist


@pytest.mark.parametrize("variant", ["max_eta", "retrospective_eta"])
def test_trirl_overlap_is_bit_for_bit_the_sequential_update(expert, variant):
    """TRIRL's worker thread (buffered networks beside D's training, R_fit beside the policy step)
    changes nothing: with and without it the runs are equal bit for bit, through buffer evictions."""
    seq, hist_seq = run_overlap(expert, variant, overlap=False)
    par, hist_par = run_overlap(expert, variant, overlap=True)
    assert par.learner._worker is not None and seq.learner._worker is None  # the thread did run
    assert len(par.learner.buffer) == 3 and par.learner.buffer.discs.count == 6
    drop = {"time/"}  # wall-clock columns differ by nature
    for a, b in zip(hist_seq, hist_par):
        assert {k: v for k, v in a.items() if k[:5] not in drop} == {k: v for k, v in b.items() if k[:5] not in drop}
    for (name, x), (_, y) in zip(seq.state_dict()["learner"]["rfit"].items(), par.state_dict()["learner"]["rfit"].items()):
        assert torch.equal(x, y), name
    for x, y in zip(seq.policy.parameters(), par.policy.parameters()):
        assert torch.equal(x, y)
    assert "reward/rfit_r2" in hist_par[-1]  # R_fit's metrics still reach the iteration's row
