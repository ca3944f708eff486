"""The feature-based reward variant (paper App. B, Fig. 9): RBF state features, linear heads."""

import math

import pytest
import torch

from trirl_ros.core.algo.discriminator import Discriminator, RBFFeatures, TransitionNet, state_features
from trirl_ros.core.algo.hparams import DiscriminatorConfig
from trirl_ros.core.algo.stacked import StackedModules
from trirl_ros.core.algo.transitions import Transitions

RBF_CFG = DiscriminatorConfig(features="rbf", feature_obs=(0, 1), rbf_low=(0.0, 0.0), rbf_high=(1.0, 2.0),
                              rbf_per_dim=2, hidden=())


def test_grid_rbf_values_by_hand():
    # centres (0,0) (0,2) (1,0) (1,2); widths (1, 2); the third observation entry is ignored
    phi = RBFFeatures((0, 1), (0.0, 0.0), (1.0, 2.0), per_dim=2)
    out = phi(torch.tensor([[0.0, 0.0, 7.0], [1.0, 2.0, -3.0]]))
    e = math.exp
    assert torch.allclose(out, torch.tensor([[1.0, e(-0.5), e(-0.5), e(-1.0)],
                                             [e(-1.0), e(-0.5), e(-0.5), 1.0]]))


def test_linear_discriminator_on_rbf_features_is_linear_and_stackable():
    torch.manual_seed(0)
    nets = [TransitionNet.from_config("s_next", 3, 2, (), RBF_CFG) for _ in range(3)]
    assert isinstance(nets[0].state_map, RBFFeatures) and len(nets[0].net) == 1  # one Linear layer
    b = Transitions(torch.rand(6, 3), torch.rand(6, 3))
    f = nets[0].features(b.obs, b.next_obs, None, b.obs_absorbing, b.next_absorbing)
    assert f.shape == (6, 2 * (4 + 1))
    lin = nets[0].net[0]
    assert torch.allclose(nets[0].on(b), f @ lin.weight[0] + lin.bias[0], atol=1e-6)
    st = StackedModules(nets[0], capacity=3)
    for n in nets:
        st.push(n)
    out = st.evaluate(b.obs, b.next_obs, b.action, b.obs_absorbing, b.next_absorbing)
    assert torch.allclose(out, torch.stack([n.on(b) for n in nets]), atol=1e-6)


def test_raw_features_keep_the_normalised_observation():
    assert state_features(DiscriminatorConfig(), 4) is None
    d = Discriminator.from_config("s", 4, 2, (8,), DiscriminatorConfig())
    assert d.state_map is None
    with pytest.raises(ValueError, match="indexes past"):
        state_features(RBF_CFG, 1)
    with pytest.raises(ValueError, match="one low and one high per entry"):
        RBFFeatures((0, 1), (0.0,), (1.0,), per_dim=3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(features="rbf", feature_obs=(), rbf_low=(), rbf_high=()), "distinct observation indices"),
    (dict(features="rbf", feature_obs=(0, 0), rbf_low=(0, 0), rbf_high=(1, 1)), "distinct observation indices"),
    (dict(features="rbf", feature_obs=(0, 1), rbf_low=(0.0,), rbf_high=(1.0,)), "2 rbf_low / rbf_high"),
    (dict(features="rbf", feature_obs=(-1,), rbf_low=(0.0,), rbf_high=(1.0,)), "distinct observation indices"),
    (dict(features="rbf", feature_obs=(0,), rbf_low=(1.0,), rbf_high=(0.0,)), "below rbf_high"),
    (dict(features="rbf", feature_obs=(0,), rbf_low=(0.0,), rbf_high=(1.0,), rbf_per_dim=1), "rbf_per_dim"),
])
def test_bad_feature_settings_name_the_key(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiscriminatorConfig(**kwargs)


def test_point_maze_feature_variant_is_a_linear_state_reward():
    from trirl_ros.core.examples.pointmaze import maze_config
    from trirl_ros.core.config import ConfigError

    cfg = maze_config("trirl", features=True)
    assert (cfg.disc.features, cfg.disc.input, cfg.disc.hidden, cfg.trirl.rfit_hidden) == ("rbf", "s", (), ())
    assert maze_config("trirl").disc.features == "raw"
    with pytest.raises(ConfigError, match="no section 'gail_features'"):
        maze_config("gail", features=True)


def test_point_maze_feature_variant_retrains_on_the_objective_it_was_corrected_for():
    """TRIRL --features and its retraining PPO share the max-ent objective (unnormalised
    advantages, one entropy coefficient); the TRPL step is unclipped, retraining PPO keeps its clip."""
    from trirl_ros.core.examples.pointmaze import maze_config

    train, retrain = maze_config("trirl", features=True), maze_config("ppo", features=True)
    for key in ("normalize_advantages", "ent_coef", "gamma", "gae_lambda"):
        assert getattr(train.ppo, key) == getattr(retrain.ppo, key), key
    assert train.ppo.normalize_advantages is False
    assert train.ppo.clip == 0.0 and retrain.ppo.clip == 0.2
    assert maze_config("ppo").ppo.normalize_advantages is True  # plain runs keep PPO's defaults


def test_box_transitions_redraw_the_base_features_only():
    phi = RBFFeatures((0, 2), (-1.0, 0.0), (1.0, 0.5), per_dim=5)
    obs = torch.tensor([[0.3, 7.0, 0.1], [0.0, 0.0, 0.0]])
    batch = Transitions(obs, obs + torch.tensor([0.1, 1.0, -0.2]), obs_absorbing=torch.tensor([False, True]))
    box = phi.box_transitions(batch, 500, torch.Generator().manual_seed(0))
    assert len(box) == 500 and not box.obs_absorbing.any() and not box.next_absorbing.any()
    assert (box.obs[:, 1] == 7.0).all()  # only the live transition is drawn; entry 1 is kept
    assert box.obs[:, 0].min() >= -1.0 and box.obs[:, 0].max() <= 1.0 and box.obs[:, 0].std() > 0.4
    assert box.obs[:, 2].min() >= 0.0 and box.obs[:, 2].max() <= 0.5
    assert torch.allclose(box.next_obs - box.obs, torch.tensor([0.1, 1.0, -0.2]).expand(500, 3), atol=1e-6)
    with pytest.raises(ValueError, match="non-absorbing"):
        phi.box_transitions(batch.index(torch.tensor([1])), 3)


def test_dirichlet_energy_is_the_squared_slope_per_grid_cell():
    torch.manual_seed(0)
    net = TransitionNet.from_config("s_next", 3, 2, (), RBF_CFG)  # widths (1, 2)
    b = Transitions(torch.rand(4, 3), torch.rand(4, 3))
    h = 1e-3
    slopes = torch.zeros(4)
    for x in ("obs", "next_obs"):
        for k, width in ((0, 1.0), (1, 2.0)):
            d = torch.zeros(3)
            d[k] = h
            up = Transitions(**{**vars(b), x: getattr(b, x) + d})
            down = Transitions(**{**vars(b), x: getattr(b, x) - d})
            slopes += ((net.on(up) - net.on(down)) / (2 * h) * width).square()
    energy = net.state_map.dirichlet_energy(net, b)
    assert torch.isclose(energy, slopes.mean(), rtol=1e-3), (float(energy), float(slopes.mean()))


def _unvisited_bump(smooth: float) -> tuple[float, float, float]:
    """A linear RBF D on x in [-1, 1]: expert at x < -0.6, agent at -0.4 < x < 0.2, nothing at
    x > 0.5. Returns (max D where nobody went, mean D on the agent's, on the expert's states)."""
    from trirl_ros.core.algo.discriminator import train_classifier

    cfg = DiscriminatorConfig(features="rbf", feature_obs=(0,), rbf_low=(-1.0,), rbf_high=(1.0,),
                              rbf_per_dim=11, hidden=(), input="s")
    torch.manual_seed(0)
    net = Discriminator.from_config("s", 1, 1, (), cfg)
    gen = torch.Generator().manual_seed(0)
    expert = torch.empty(400, 1).uniform_(-1.0, -0.6, generator=gen)
    agent = torch.empty(400, 1).uniform_(-0.4, 0.2, generator=gen)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    train_classifier(net, opt, Transitions(expert, expert), Transitions(agent, agent), epochs=300,
                     minibatch=100, grad_penalty_coef=0.1, generator=gen, smooth_penalty_coef=smooth)
    with torch.no_grad():
        far = torch.linspace(0.5, 1.0, 11).unsqueeze(1)
        return (float(net.on(Transitions(far, far)).max()), float(net.on(Transitions(agent, agent)).mean()),
                float(net.on(Transitions(expert, expert)).mean()))


def test_smoothness_removes_the_maximum_where_nobody_went():
    """Without it, D decays to its prior 0 where no sample is, above the negative agent region: a
    spurious maximum a fresh policy climbs to. With it, D there follows its neighbours."""
    far, agent, expert = _unvisited_bump(0.0)
    assert expert > 0.5 and agent < -1.0 and far > agent + 0.5, (far, agent, expert)
    far, agent, expert = _unvisited_bump(10.0)
    assert expert > agent + 0.3 and far < agent + 0.05, (far, agent, expert)


def test_smoothing_settings_need_rbf_features():
    from trirl_ros.core.algo.discriminator import train_classifier
    from trirl_ros.core.algo.hparams import AlgoConfig, TRIRLConfig

    with pytest.raises(ValueError, match="smooth_penalty needs disc.features: rbf"):
        DiscriminatorConfig(smooth_penalty=1.0)
    with pytest.raises(ValueError, match="rfit_box_fraction needs disc.features: rbf"):
        AlgoConfig(trirl=TRIRLConfig(rfit_box_fraction=1.0))
    net = Discriminator.from_config("s", 2, 1, (), DiscriminatorConfig())
    b = Transitions(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="smooth_penalty needs RBF state features"):
        train_classifier(net, torch.optim.Adam(net.parameters()), b, b, 1, 4, 0.0, smooth_penalty_coef=1.0)


def _rfit_error_on_box(box_fraction: float, expert: Transitions) -> float:
    """Mean |R_fit - corrected reward| on states drawn over the whole arena, after a tiny TRIRL
    --features run and one more reward update (R_fit's target is that update's corrected reward)."""
    from trirl_ros.core.algo.agent import make_agent
    from trirl_ros.core.examples.pointmaze import maze_config
    from trirl_ros.core.algo.runner import OnPolicyRunner
    from trirl_ros.core.envs.pointmaze import PointMazeEnv

    cfg = maze_config("trirl", ["ppo.horizon=10", "ppo.epochs=2", "disc.minibatch=20", "trirl.rfit_minibatch=20",
                                "trirl.epsilon=0.5", f"trirl.rfit_box_fraction={box_fraction}"], features=True)
    agent = make_agent(cfg, 4, 2, num_envs=4, seed=0)
    OnPolicyRunner(PointMazeEnv(4, seed=0), agent, expert, -1.0, 1.0).run(6)
    learner, gen = agent.learner, torch.Generator().manual_seed(1)
    learner.update(expert, expert.sample(40, gen))
    box = learner.rfit.state_map.box_transitions(expert, 2000, gen)
    with torch.no_grad():
        corrected = learner.buffer.rewards(box)[0] / learner.beta
        return float((learner.rfit.on(box) - corrected).abs().mean())


def test_rfit_box_fraction_fits_the_corrected_reward_where_nobody_went(expert):
    without, with_box = _rfit_error_on_box(0.0, expert), _rfit_error_on_box(1.0, expert)
    assert with_box < 0.5 * without, (with_box, without)
