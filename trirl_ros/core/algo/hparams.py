"""Typed, frozen hyperparameters of the continuous IRL algorithms (TRIRL and baselines).

Loaded from ``config/algo/<name>.yaml`` with :func:`load_algo_config`. Defaults follow the
TRIRL paper (arXiv 2605.11020, Appendix C.5 and Table 7) and the authors' public configuration
(summarised in ``papers/README.md``, "Facts from the authors' public configuration"); each
default says where it comes from. Values that the paper gives as a range are set inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from trirl_ros.core.config import ConfigError, config_path, load_yaml

ALGORITHMS = ("trirl", "gail", "airl", "amp", "mlirl", "piro", "ppo", "tracking")


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")


def _nonneg(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _unit(name: str, value: float, closed_low: bool = False) -> None:
    ok = (0.0 <= value <= 1.0) if closed_low else (0.0 < value <= 1.0)
    if not ok:
        raise ValueError(f"{name} must lie in {'[0, 1]' if closed_low else '(0, 1]'}, got {value!r}")


def _hidden(name: str, sizes: tuple[int, ...], allow_linear: bool = False) -> None:
    if (len(sizes) == 0 and not allow_linear) or any(int(h) <= 0 for h in sizes):
        kind = "a list" if allow_linear else "a non-empty list"
        raise ValueError(f"{name} must be {kind} of positive layer sizes, got {list(sizes)}")


@dataclass(frozen=True)
class PolicyConfig:
    """Gaussian policy N(mu_theta(s), diag(std^2)) with a state-independent learnable log-std."""

    hidden: tuple[int, ...] = (256, 256, 256)  # App. C.5: 3 dense layers of 256 (MuJoCo tasks);
    # robots: [512, 256, 128] (App. C.5) / [512, 256] (authors' Go2 config)
    critic_hidden: tuple[int, ...] = (256, 256, 256)  # App. C.5: same as the policy ([1024, 512] robots)
    init_std: float = 0.4  # authors' config: init_std 0.4 (learnable)
    min_std: float = 1e-3  # numerical floor (ours)
    normalize_obs: bool = True  # authors' config: observation normalisation on

    def __post_init__(self) -> None:
        _hidden("hidden", self.hidden)
        _hidden("critic_hidden", self.critic_hidden)
        _positive("init_std", self.init_std)
        _positive("min_std", self.min_std)
        if self.min_std >= self.init_std:
            raise ValueError(f"min_std ({self.min_std}) must be below init_std ({self.init_std})")


@dataclass(frozen=True)
class PPOConfig:
    """PPO on the (intermediate) learned reward with GAE and absorbing-state values."""

    horizon: int = 20  # rollout steps per env per iteration; App. C.5: 10, authors: num_steps 20
    gamma: float = 0.99  # App. C.5
    gae_lambda: float = 0.95  # App. C.5
    clip: float = 0.2  # App. C.5: PPO clipping 0.2; 0 = no ratio clipping (trust-region steps only)
    epochs: int = 20  # App. C.5: grad steps 20-30; authors: update_epochs 20
    num_minibatches: int = 64  # authors' config: num_minibatches 64
    lr_policy: float = 1.02e-5  # authors' config (App. C.5 range 4e-5 - 1e-4)
    lr_critic: float = 1.02e-5  # authors use one optimiser for actor and critic
    ent_coef: float = 4e-5  # authors' config 4e-5 (App. C.5 range 5e-3 - 8e-5); beta = 1/ent_coef
    vf_coef: float = 1.0  # authors' config: value coef 1.0
    max_grad_norm: float = 1.0  # App. C.5: gradient clipping 1.0
    normalize_advantages: bool = True  # ours (standard PPO practice)
    # penalty on action means beyond +-bounds_soft_limit (rl_games' bounds loss; ASE/AMP uses 10):
    # for envs that clip actions, a mean far outside the limit clips every sample to the same
    # action, its advantage carries no gradient and the policy stays stuck there. 0 = off.
    bounds_loss_coef: float = 0.0
    bounds_soft_limit: float = 1.0
    # adaptive step size (rsl_rl / legged_gym "adaptive" schedule): after every minibatch the
    # learning rates shrink by 1.5 when KL(pi_old || pi) exceeds 2 x desired_kl and grow by 1.5
    # below desired_kl / 2 (policy lr kept in [1e-5, 1e-2]; critic lr scaled alike). 0 = fixed lr.
    # PPO step only: TRPL's projection bounds the step itself (with both, a TRIRL Go2 run's TRPL
    # step of KL 0.027 drove the lr to its 1e-5 floor within 200k steps and learning stalled)
    desired_kl: float = 0.0
    # linear learning-rate decay (cleanrl's anneal_lr, here over iterations [start, end]): both lrs
    # scale from 1 at iteration start to lr_decay_to at end and stay there; () = constant. For any
    # policy step. Measured on TRIRL's G1 walk (TRPL step KL 0.15-0.2 per update at lr 1e-3), decay
    # over iterations 846-1628: two of four seeds held their walk to the stop, two lost it; R's
    # seeds held as long without it, so no benefit shown alone (docs/imitation.md, "Holding the G1
    # walk"); with half the starts from standing (config/tasks/g1_walk.yaml) 3 of 4 seeds held
    lr_decay_iters: tuple[int, ...] = ()
    lr_decay_to: float = 0.1

    def __post_init__(self) -> None:
        for name in ("horizon", "epochs", "num_minibatches"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        _unit("gamma", self.gamma)
        if self.gamma >= 1.0:
            raise ValueError(f"gamma must be < 1 (absorbing value gamma/(1-gamma)), got {self.gamma}")
        _unit("gae_lambda", self.gae_lambda, closed_low=True)
        _nonneg("clip", self.clip)
        _positive("lr_policy", self.lr_policy)
        _positive("lr_critic", self.lr_critic)
        _positive("ent_coef", self.ent_coef)
        _nonneg("vf_coef", self.vf_coef)
        _positive("max_grad_norm", self.max_grad_norm)
        _nonneg("bounds_loss_coef", self.bounds_loss_coef)
        _positive("bounds_soft_limit", self.bounds_soft_limit)
        _nonneg("desired_kl", self.desired_kl)
        d = self.lr_decay_iters
        if d and (len(d) != 2 or not 0 <= int(d[0]) < int(d[1])):
            raise ValueError(f"lr_decay_iters must be () or [start, end] with 0 <= start < end, got {list(d)}")
        _unit("lr_decay_to", self.lr_decay_to)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Binary classifier whose logit estimates log(rho_E / rho_pi) (paper Sec. 4.1)."""

    input: Literal["s_next", "s_a", "s"] = "s_next"  # authors: 'state-based' D(s, s') (Sec. 4.4)
    hidden: tuple[int, ...] = (256, 256, 256)  # App. C.5: same architecture as the policy; [] = linear
    # state features of every reward network (App. B "Feature-based variants", Fig. 9): "raw" =
    # the normalised observation; "rbf" = Gaussian radial basis functions of the raw observation
    # entries ``feature_obs`` (the known base features), ``rbf_per_dim`` centres per entry on a grid
    # from ``rbf_low`` to ``rbf_high`` (width = grid spacing). With hidden [] the reward is linear.
    features: Literal["raw", "rbf"] = "raw"
    feature_obs: tuple[int, ...] = ()  # observation indices of the base features ("rbf" only)
    rbf_low: tuple[float, ...] = ()  # grid start per base feature
    rbf_high: tuple[float, ...] = ()  # grid end per base feature
    rbf_per_dim: int = 7
    lr: float = 7.75e-4  # authors' config (App. C.5 range 8e-5 - 3e-4)
    epochs: int = 30  # authors: n_disc_epochs 30 (App. C.5: 20-30 for TRIRL; 3-10 adversarial)
    minibatch: int = 512  # authors: discriminator minibatch 512; App. C.5 mini-batch 512
    grad_penalty: float = 0.005  # App. C.5: gradient penalty 0.005 (authors' Go2: 0.16)
    # ours ("rbf" only): weight of D's Dirichlet energy over the grid's box, the mean squared change
    # per grid cell at uniformly drawn states. Where no sample constrains D it interpolates its
    # neighbours instead of decaying to the logit 0 (a harmonic function has no maxima there)
    smooth_penalty: float = 0.0
    normalize_obs: bool = True  # ours: each discriminator carries its own running normaliser
    warm_start: bool = True  # ours: D^(i) starts from D^(i-1)
    # Against saturation and drift (MimicKit's public AMP Go2 config: logit reg 0.01, weight decay
    # 1e-4, replay 200k). logit_reg: weight of the squared output-layer weights (keeps logits small
    # where the classes separate). weight_decay: Adam L2 on every parameter. replay_size: agent
    # transitions of past rollouts kept (circular); when it holds any, half of D's agent samples per
    # update come from it, so D also remembers the states of earlier policies. Not in checkpoints
    # (a resumed run refills it).
    logit_reg: float = 0.0
    weight_decay: float = 0.0
    replay_size: int = 0

    def __post_init__(self) -> None:
        _hidden("hidden", self.hidden, allow_linear=True)
        _positive("lr", self.lr)
        _nonneg("logit_reg", self.logit_reg)
        _nonneg("weight_decay", self.weight_decay)
        if self.replay_size < 0:
            raise ValueError(f"disc.replay_size must be >= 0, got {self.replay_size}")
        if self.epochs < 1 or self.minibatch < 1:
            raise ValueError("epochs and minibatch must be >= 1")
        _nonneg("grad_penalty", self.grad_penalty)
        _nonneg("smooth_penalty", self.smooth_penalty)
        if self.smooth_penalty > 0 and self.features != "rbf":
            raise ValueError("disc.smooth_penalty needs disc.features: rbf (it smooths over the RBF grid's box)")
        if self.features == "rbf":
            n = len(self.feature_obs)
            if n == 0 or any(int(i) < 0 for i in self.feature_obs) or len(set(self.feature_obs)) != n:
                raise ValueError(f"rbf features need distinct observation indices >= 0 in feature_obs, "
                                 f"got {list(self.feature_obs)}")
            if len(self.rbf_low) != n or len(self.rbf_high) != n:
                raise ValueError(f"rbf features need {n} rbf_low / rbf_high values (one per feature_obs "
                                 f"entry), got {list(self.rbf_low)} and {list(self.rbf_high)}")
            if any(not h > l for l, h in zip(self.rbf_low, self.rbf_high)):
                raise ValueError(f"rbf_low must lie below rbf_high, got {list(self.rbf_low)} / {list(self.rbf_high)}")
            if self.rbf_per_dim < 2:
                raise ValueError(f"rbf_per_dim must be >= 2, got {self.rbf_per_dim}")


@dataclass(frozen=True)
class TRIRLConfig:
    """TRIRL-specific settings (paper Algorithm 2, Table 7 and the authors' configuration)."""

    variant: Literal["max_eta", "tr_loss", "retrospective_eta"] = "max_eta"  # Sec. 4.3; max-eta default
    epsilon: float = 0.443  # authors: 0.443 (Table 7 range 0.45-0.75; Table 6 ablation 0.01-0.4)
    buffer_size: int = 100  # authors: discriminator buffer 100 (Table 7: 80-120)
    mean_bound: float = 2.51e-4  # authors: 2.51e-4 (Table 7: 2e-4 - 5e-3)
    cov_bound: float = 1.82e-4  # authors: 1.82e-4 (Table 7: 1e-4 - 4e-3)
    tr_coef: float = 0.5  # Table 7: TR regression loss coef 0.4-0.6 (authors' Go2: 0.828)
    eta_init: float = 80.0  # Table 7: eta_init 60-100 (TR-loss version only)
    eta_final: float = 80.0  # ours: linear schedule end value (constant by default)
    eta_schedule_iters: int = 1  # ours: iterations of the linear eta schedule
    rfit_hidden: tuple[int, ...] = (256, 256, 256)  # ours: as the discriminator
    rfit_epochs: int = 30  # authors: R_fit 30 epochs, warm-started
    rfit_lr: float = 5e-5  # authors: R_fit lr 5e-5
    rfit_minibatch: int = 512  # ours: as the discriminator minibatch
    rfit_expert_fraction: float = 1.0  # ours: expert samples in R_fit's set, relative to the agent batch
    # ours (disc.features "rbf" only): box states (uniform over the RBF grid) in R_fit's set,
    # relative to the agent batch, so R_fit follows the buffer where nobody went as well
    rfit_box_fraction: float = 0.0

    def __post_init__(self) -> None:
        _unit("epsilon", self.epsilon)
        if self.buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {self.buffer_size}")
        _positive("mean_bound", self.mean_bound)
        _positive("cov_bound", self.cov_bound)
        _nonneg("tr_coef", self.tr_coef)
        _nonneg("eta_init", self.eta_init)
        _nonneg("eta_final", self.eta_final)
        if self.eta_schedule_iters < 1:
            raise ValueError("eta_schedule_iters must be >= 1")
        _hidden("rfit_hidden", self.rfit_hidden, allow_linear=True)
        if self.rfit_epochs < 0 or self.rfit_minibatch < 1:
            raise ValueError("rfit_epochs must be >= 0 and rfit_minibatch >= 1")
        _positive("rfit_lr", self.rfit_lr)
        _positive("rfit_expert_fraction", self.rfit_expert_fraction)
        _nonneg("rfit_box_fraction", self.rfit_box_fraction)


@dataclass(frozen=True)
class BaselineConfig:
    """Settings of the baseline reward learners (GAIL, AIRL, AMP, ML-IRL, PIRO)."""

    reward_l2: float = 1e-3  # ML-IRL/PIRO: penalty on reward magnitude (ours, keeps r bounded)
    horizon_scale: float = 1.0  # ML-IRL/PIRO: the factor T in T (E_agent r - E_expert r)
    piro_target_change: float = 0.05  # PIRO: target RMS change of r on agent samples (ours)
    piro_init_weight: float = 1.0  # PIRO: initial proximal weight w (clamped to [0.001, 10])
    airl_state_only: bool = True  # AIRL: g(s) state-only unshaped reward (Fu et al. 2018)

    def __post_init__(self) -> None:
        _nonneg("reward_l2", self.reward_l2)
        _positive("horizon_scale", self.horizon_scale)
        _positive("piro_target_change", self.piro_target_change)
        if not (0.001 <= self.piro_init_weight <= 10.0):
            raise ValueError(f"piro_init_weight must lie in [0.001, 10], got {self.piro_init_weight}")


@dataclass(frozen=True)
class TrackingConfig:
    """The tracking baseline's reward (algorithm ``tracking``; not IRL: it reads the reference).

    Per step, against the reference frame each env is at (its own phase, advanced one frame per
    policy step; DeepMimic, Peng et al. 2018; BeyondMimic-style trackers use the same form)::

        r = sum_k weight_k * exp(-k_k * e_k)

    with e_k the squared error of term k: ``lin_vel`` base linear velocity in the base frame
    (m/s), ``ang_vel`` base angular velocity (rad/s), ``joint_pos`` sum over joints (rad),
    ``joint_vel`` sum over joints (rad/s), ``orientation`` projected gravity (unit vector),
    ``height`` base height (m). A weight of 0 drops the term.

    velocity_target 'command' (a command-following gait with the clip as its style prior; needs the
    env's ``command_ranges``): ``lin_vel`` compares the base-frame (vx, vy) with the env's command
    (vx, vy) and ``ang_vel`` the yaw rate with the command's wz; the other terms still follow the clip.
    """

    lin_vel_weight: float = 0.5  # the measured Go2 tracker: 0.5 exp(-|dv|^2) + 0.5 exp(-2 sum dq^2)
    lin_vel_k: float = 1.0
    joint_pos_weight: float = 0.5
    joint_pos_k: float = 2.0
    ang_vel_weight: float = 0.0
    ang_vel_k: float = 0.5
    joint_vel_weight: float = 0.0
    joint_vel_k: float = 0.01
    orientation_weight: float = 0.0
    orientation_k: float = 5.0
    height_weight: float = 0.0
    height_k: float = 100.0
    velocity_target: Literal["reference", "command"] = "reference"

    TERMS = ("lin_vel", "ang_vel", "joint_pos", "joint_vel", "orientation", "height")

    def __post_init__(self) -> None:
        for t in self.TERMS:
            _nonneg(f"tracking.{t}_weight", getattr(self, f"{t}_weight"))
            _nonneg(f"tracking.{t}_k", getattr(self, f"{t}_k"))
        if not any(getattr(self, f"{t}_weight") > 0 for t in self.TERMS):
            raise ValueError("tracking: every term weight is 0; the reward would be constant")

    def terms(self) -> dict[str, tuple[float, float]]:
        """{term: (weight, k)} of the terms with a positive weight."""
        return {t: (getattr(self, f"{t}_weight"), getattr(self, f"{t}_k")) for t in self.TERMS
                if getattr(self, f"{t}_weight") > 0}


@dataclass(frozen=True)
class AlgoConfig:
    """One algorithm's complete hyperparameters (file ``config/algo/<algorithm>.yaml``)."""

    algorithm: Literal["trirl", "gail", "airl", "amp", "mlirl", "piro", "ppo", "tracking"] = "trirl"
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    disc: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    trirl: TRIRLConfig = field(default_factory=TRIRLConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    # The reward of the absorbing state a fall leads to (App. C.4), for learned rewards. "learned":
    # the reward learner's r(s_a); the expert never falls, so it tends to the lowest reward, but
    # only as D learns it: while r(s_a) is above the agent's per-step reward, falling pays (measured
    # with TRIRL on Go2 robot demonstrations: r(s_a) -0.64 vs -0.88, episodes shrank from 348 to
    # 11-48 steps in 200k steps). "min_agent": the lowest reward of the update's agent transitions,
    # the value that limit reaches, from the first update on.
    absorbing_reward: Literal["learned", "min_agent"] = "learned"

    def __post_init__(self) -> None:
        if self.trirl.rfit_box_fraction > 0 and self.disc.features != "rbf":
            raise ValueError("trirl.rfit_box_fraction needs disc.features: rbf (box states are drawn over the RBF grid)")


def load_algo_config(name_or_path: str | Path) -> AlgoConfig:
    """Load ``config/algo/<name>.yaml`` (``name`` in :data:`ALGORITHMS`) or a YAML path."""
    p = Path(str(name_or_path))
    if p.suffix in (".yaml", ".yml") or p.is_file():
        return load_yaml(p, AlgoConfig)
    if str(name_or_path) not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {name_or_path!r}; expected one of {list(ALGORITHMS)}")
    return load_yaml(config_path("algo", f"{name_or_path}.yaml"), AlgoConfig)
