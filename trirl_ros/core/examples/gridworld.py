"""Discrete TRIRL, exact: a grid world with known dynamics (TRIRL paper, Fig. 2 and Algorithm 1).

Everything is analytic (NumPy, float64): occupancies come from a linear solve of the Bellman flow
equations, the log density ratio ``D = log rho_E - log rho_pi`` is exact, and policies come from
soft value iteration. Notation: ``S`` states (grid cells), ``A`` actions; rewards and occupancies
are (S, A) arrays; occupancies are normalised, ``rho(s, a) = (1 - gamma) sum_t gamma^t
Pr(s_t = s, a_t = a)``.

One TRIRL iteration (Algorithm 1, lines 4-10) from a reward ``r`` whose MCE-optimal policy is
``pi`` (initially ``r = 0``, ``pi`` uniform):

1. ``D = log(rho_E / rho_pi)``;  ``r~ = (1 - eps) r + eps beta D`` (Eq. 2, line 5).
2. ``pi_tr`` = soft value iteration on ``r~`` with the reverse-KL penalty ``eta KL(pi || pi)`` for
   a scheduled ``eta`` (App. B, "Feature-based variants"/Fig. 2 procedure; Eq. 3 in penalty form).
3. ``eps_tr = eps / (1 + eta)``;  ``r <- (1 - eps_tr) r + eps_tr beta D`` (lines 7-8). By
   Lemma 3.1 / Theorem 3.2 ``pi_tr`` is MCE-optimal for the corrected ``r`` (line 9); the run
   measures this as ``invariant_err``.

Objectives recorded per iteration (the distribution-matching problem, Eq. 1, written as a loss):
``primal(pi) = beta KL(rho_pi || rho_E) - H(pi)`` with the discounted causal entropy ``H``, and
its Lagrangian dual in the reward, ``dual(r) = -(1 - gamma) E_mu0[V_r(s0)] - beta log sum_sa
rho_E exp(-r / beta)`` (App. A, the ``G`` of the soundness proof with the sign flipped so that
it is maximised); weak duality gives ``dual(r) <= primal(pi)`` for every pair.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)

# actions: stay, up, down, left, right (row, col) offsets
_MOVES = np.array([(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)])
ACTION_NAMES = ("stay", "up", "down", "left", "right")


@dataclass(frozen=True)
class GridWorldConfig:
    """A ``size x size`` grid; each action moves one cell (walls block), slipping with probability
    ``slip`` to a uniformly random other action. Hidden reward: state rewards per cell."""

    size: int = 5
    slip: float = 0.1
    gamma: float = 0.9
    goal: tuple[int, int] = (4, 4)
    goal_reward: float = 2.0
    pit: tuple[int, int] = (2, 2)
    pit_reward: float = -2.0
    step_reward: float = -0.1

    def __post_init__(self):
        if self.size < 2:
            raise ValueError(f"size must be >= 2, got {self.size}")
        if not 0.0 <= self.slip < 1.0:
            raise ValueError(f"slip must be in [0, 1), got {self.slip}")
        if not 0.0 < self.gamma < 1.0:
            raise ValueError(f"gamma must be in (0, 1), got {self.gamma}")
        for name in ("goal", "pit"):
            r, c = getattr(self, name)
            if not (0 <= r < self.size and 0 <= c < self.size):
                raise ValueError(f"{name} {getattr(self, name)} lies outside the {self.size}x{self.size} grid")


@dataclass(frozen=True)
class GridWorld:
    """Known MDP. P: (S, A, S) transition probabilities; mu0: (S,) initial distribution (uniform,
    so every state has positive occupancy); true_reward: (S, A) hidden reward; gamma: discount."""

    config: GridWorldConfig
    P: np.ndarray
    mu0: np.ndarray
    true_reward: np.ndarray
    gamma: float

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    @classmethod
    def build(cls, config: GridWorldConfig | None = None) -> "GridWorld":
        cfg = config or GridWorldConfig()
        n, na = cfg.size, len(_MOVES)
        s_count = n * n
        det = np.zeros((s_count, na, s_count))
        for s in range(s_count):
            r, c = divmod(s, n)
            for a, (dr, dc) in enumerate(_MOVES):
                rr, cc = r + dr, c + dc
                if not (0 <= rr < n and 0 <= cc < n):
                    rr, cc = r, c
                det[s, a, rr * n + cc] = 1.0
        # with probability slip the executed action is one of the other actions, uniformly
        mix = np.full((na, na), cfg.slip / (na - 1))
        np.fill_diagonal(mix, 1.0 - cfg.slip)
        P = np.einsum("ab,sbt->sat", mix, det)
        reward_s = np.full(s_count, cfg.step_reward)
        reward_s[cfg.goal[0] * n + cfg.goal[1]] = cfg.goal_reward
        reward_s[cfg.pit[0] * n + cfg.pit[1]] = cfg.pit_reward
        true_reward = np.repeat(reward_s[:, None], na, axis=1)
        mu0 = np.full(s_count, 1.0 / s_count)
        return cls(cfg, P, mu0, true_reward, cfg.gamma)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def soft_value_iteration(
    env: GridWorld,
    reward: np.ndarray,
    prior: np.ndarray | None = None,
    eta: float = 0.0,
    v0: np.ndarray | None = None,
    tol: float = 1e-12,
    max_iters: int = 100,
    newton: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Soft value iteration for ``max E[sum_t gamma^t (r + H(pi) - eta KL(pi || prior))]``.

    The soft Bellman operator is ``(T V)(s) = (1 + eta) log sum_a exp(Q(s, a) / (1 + eta))`` with
    ``Q = r + eta log prior + gamma P V``; the policy is the Boltzmann policy ``pi = exp((Q - V) /
    (1 + eta))``. With eta = 0 this is MCE soft value iteration. The fixed point ``V = T V`` is
    found with Newton's method on ``V - T V`` (Jacobian ``I - gamma P_pi``, i.e. soft policy
    iteration: a few linear solves to ``tol``) or, with ``newton=False``, by plain sweeps ``V <-
    T V`` (a ``gamma``-contraction, hundreds of sweeps); both give the same fixed point.
    reward: (S, A); prior: (S, A) or None (needs eta = 0); v0: (S,) warm start.
    Returns (policy (S, A), V (S,)).
    """
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    if eta > 0 and prior is None:
        raise ValueError("a KL penalty (eta > 0) needs a prior policy")
    if not np.all(np.isfinite(reward)):
        raise ValueError("reward contains NaN or inf")
    base = reward + (eta * np.log(prior) if eta > 0 else 0.0)
    temp = 1.0 + eta
    v = np.zeros(env.n_states) if v0 is None else v0.copy()
    eye = np.eye(env.n_states)
    limit = max_iters if newton else 200 * max_iters
    for it in range(limit):
        q = base + env.gamma * env.P @ v
        tv = temp * _logsumexp(q / temp, axis=1)
        residual = tv - v
        if np.abs(residual).max() <= tol * max(1.0, np.abs(v).max()):
            break
        if newton:
            pi = np.exp((q - tv[:, None]) / temp)
            p_pi = np.einsum("sa,sat->st", pi, env.P)
            v = v + np.linalg.solve(eye - env.gamma * p_pi, residual)
        else:
            v = tv
    else:
        log.warning("soft value iteration stopped after %d steps (residual %.2e)", limit, np.abs(residual).max())
    q = base + env.gamma * env.P @ v
    policy = np.exp((q - v[:, None]) / temp)
    policy /= policy.sum(axis=1, keepdims=True)
    return policy, v


def state_occupancy(env: GridWorld, policy: np.ndarray) -> np.ndarray:
    """Normalised discounted state occupancy (S,): ``(1 - gamma) (I - gamma P_pi^T)^-1 mu0``."""
    p_pi = np.einsum("sa,sat->st", policy, env.P)
    mu = np.linalg.solve(np.eye(env.n_states) - env.gamma * p_pi.T, env.mu0)
    return (1.0 - env.gamma) * mu


def occupancy(env: GridWorld, policy: np.ndarray) -> np.ndarray:
    """Normalised discounted state-action occupancy rho(s, a) (S, A); sums to 1."""
    return state_occupancy(env, policy)[:, None] * policy


def log_density_ratio(rho_expert: np.ndarray, rho_policy: np.ndarray) -> np.ndarray:
    """Exact ``D = log(rho_E / rho_pi)`` (S, A); the discriminator logits of the continuous case."""
    return np.log(rho_expert) - np.log(rho_policy)


def reverse_kl(rho: np.ndarray, rho_expert: np.ndarray) -> float:
    """``KL(rho_pi || rho_E)`` between state-action occupancies."""
    return float(np.sum(rho * (np.log(rho) - np.log(rho_expert))))


def policy_kl(env: GridWorld, policy: np.ndarray, expert: np.ndarray) -> float:
    """``E_{rho_pi(s)}[KL(pi(.|s) || pi_E(.|s))]``, the policy part of the occupancy KL."""
    mu = state_occupancy(env, policy)
    return float(np.sum(mu[:, None] * policy * (np.log(policy) - np.log(expert))))


def soft_policy_value(env: GridWorld, policy: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """Soft value of a fixed policy, ``V = E_pi[r - log pi] + gamma P_pi V`` (S,), by a linear solve."""
    p_pi = np.einsum("sa,sat->st", policy, env.P)
    inst = np.sum(policy * (reward - np.log(policy)), axis=1)
    return np.linalg.solve(np.eye(env.n_states) - env.gamma * p_pi, inst)


def primal_loss(env: GridWorld, policy: np.ndarray, rho_expert: np.ndarray, beta: float) -> float:
    """``beta KL(rho_pi || rho_E) - H(pi)`` with ``H = -sum rho log pi`` (Eq. 1 as a loss)."""
    rho = occupancy(env, policy)
    return beta * reverse_kl(rho, rho_expert) + float(np.sum(rho * np.log(policy)))


def dual_objective(env: GridWorld, value: np.ndarray, reward: np.ndarray, rho_expert: np.ndarray,
                   beta: float) -> float:
    """``-(1 - gamma) mu0 . V_r - beta log sum rho_E exp(-r / beta)``; value: (S,) MCE soft value
    of ``reward`` (S, A). A lower bound on :func:`primal_loss` for every policy."""
    lse = _logsumexp((np.log(rho_expert) - reward / beta).ravel(), axis=0)
    return float(-(1.0 - env.gamma) * env.mu0 @ value - beta * lse)


def reward_update(reward: np.ndarray, ratio: np.ndarray, step: float, beta: float) -> np.ndarray:
    """Eq. 2 / Algorithm 1 lines 5 and 8: ``(1 - step) r + step beta D`` (all (S, A))."""
    return (1.0 - step) * reward + step * beta * ratio


def corrected_step(eps: float, eta: float) -> float:
    """Algorithm 1 line 7: ``eps_tr = eps / (1 + eta)``."""
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    return eps / (1.0 + eta)


@dataclass(frozen=True)
class DiscreteTRIRLConfig:
    """eps: reward step (Eq. 2); beta: distribution-matching weight (Eq. 1); the KL penalty of the
    trust-region policy update is scheduled as ``eta_i = max(eta_min, eta0 * eta_decay^i)``.

    The corrected step is ``eps_tr = eps / (1 + eta)``; the reward then moves by ``eps_tr beta D``.
    A large ``beta`` makes the fixed point match the expert closely (KL ~ 1/beta^2) but needs
    ``eps_tr beta`` well below 1 for the iteration to contract; with the defaults the floor is
    ``eps_tr beta = 0.25``. With a constant ``eta = 50`` (``eps_tr beta ~ 1``) the reverse KL is no longer
    monotone: the failure mode "very lax trust region" of the paper's Section 6.
    """

    eps: float = 0.5
    beta: float = 100.0
    iterations: int = 100
    eta0: float = 2000.0
    eta_decay: float = 0.9
    eta_min: float = 200.0

    def __post_init__(self):
        if not 0.0 < self.eps <= 1.0:
            raise ValueError(f"eps must be in (0, 1], got {self.eps}")
        if self.beta <= 0:
            raise ValueError(f"beta must be > 0, got {self.beta}")
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")
        if self.eta0 < 0 or self.eta_min < 0 or not 0 < self.eta_decay <= 1:
            raise ValueError("eta schedule needs eta0 >= 0, eta_min >= 0 and 0 < eta_decay <= 1")

    def eta(self, i: int) -> float:
        return max(self.eta_min, self.eta0 * self.eta_decay**i)


@dataclass
class DiscreteTRIRLResult:
    """Per-iteration records (index 0 = the initial uniform policy) and the final arrays."""

    reverse_kl: list[float] = field(default_factory=list)  # KL(rho_pi || rho_E)
    policy_kl: list[float] = field(default_factory=list)  # E_rho_pi(s) KL(pi || pi_E)
    dual: list[float] = field(default_factory=list)
    primal: list[float] = field(default_factory=list)
    eta: list[float] = field(default_factory=list)  # used to reach iteration i (nan at 0)
    eps_tr: list[float] = field(default_factory=list)
    invariant_err: list[float] = field(default_factory=list)  # max |log pi_tr - log pi_MCE(r)|
    policy: np.ndarray | None = None  # (S, A)
    reward: np.ndarray | None = None  # (S, A) corrected reward
    expert_policy: np.ndarray | None = None

    def monotone(self, rel_tol: float = 1e-9) -> bool:
        """Reverse KL never increases and the dual never decreases (up to rounding)."""
        kl, du = np.asarray(self.reverse_kl), np.asarray(self.dual)
        scale_kl = rel_tol * max(1.0, np.abs(kl).max())
        scale_du = rel_tol * max(1.0, np.abs(du).max())
        return bool(np.all(np.diff(kl) <= scale_kl) and np.all(np.diff(du) >= -scale_du))


def expert_policy(env: GridWorld) -> np.ndarray:
    """The max-ent (MCE) optimal policy for the hidden reward (S, A)."""
    return soft_value_iteration(env, env.true_reward)[0]


def run_discrete_trirl(env: GridWorld, cfg: DiscreteTRIRLConfig, callback=None) -> DiscreteTRIRLResult:
    """Algorithm 1 with exact occupancies; ``callback(i, result)`` after each iteration."""
    expert = expert_policy(env)
    rho_e = occupancy(env, expert)
    s, a = env.n_states, env.n_actions
    reward = np.zeros((s, a))
    policy = np.full((s, a), 1.0 / a)  # MCE-optimal for r = 0
    value = soft_policy_value(env, policy, reward)
    res = DiscreteTRIRLResult(expert_policy=expert)

    def record(eta, eps_tr, inv_err):
        rho = occupancy(env, policy)
        res.reverse_kl.append(reverse_kl(rho, rho_e))
        res.policy_kl.append(policy_kl(env, policy, expert))
        res.dual.append(dual_objective(env, value, reward, rho_e, cfg.beta))
        res.primal.append(primal_loss(env, policy, rho_e, cfg.beta))
        res.eta.append(eta)
        res.eps_tr.append(eps_tr)
        res.invariant_err.append(inv_err)

    record(float("nan"), float("nan"), 0.0)
    if callback:
        callback(0, res)
    v_tr = value
    for i in range(1, cfg.iterations + 1):
        ratio = log_density_ratio(rho_e, occupancy(env, policy))
        r_tilde = reward_update(reward, ratio, cfg.eps, cfg.beta)
        eta = cfg.eta(i - 1)
        new_policy, v_tr = soft_value_iteration(env, r_tilde, prior=policy, eta=eta, v0=v_tr)
        eps_tr = corrected_step(cfg.eps, eta)
        reward = reward_update(reward, ratio, eps_tr, cfg.beta)
        policy = new_policy
        # line 9: pi_tr must be the MCE-optimal policy of the corrected reward
        mce_policy, value = soft_value_iteration(env, reward, v0=value)
        inv_err = float(np.abs(np.log(policy) - np.log(mce_policy)).max())
        record(eta, eps_tr, inv_err)
        if callback:
            callback(i, res)
    res.policy, res.reward = policy, reward
    return res


def _mean_move(policy: np.ndarray) -> np.ndarray:
    """Expected (row, col) displacement per state (S, 2) for a policy (S, A)."""
    return policy @ _MOVES.astype(float)


def _normalised(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / max(x.std(), 1e-12)


def plot_result(env: GridWorld, res: DiscreteTRIRLResult, path) -> str:
    """Save a figure like the paper's Fig. 2: expert and learned policies over the true and the
    learned (normalised, action-averaged) rewards, reverse KL and dual/primal per iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = env.config.size
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.5))
    rows, cols = np.divmod(np.arange(n * n), n)
    panels = [
        (axes[0, 0], res.expert_policy, env.true_reward, "expert policy on the hidden reward"),
        (axes[0, 1], res.policy, res.reward, "TRIRL policy on the learned reward"),
    ]
    for ax, policy, reward, title in panels:
        img = ax.imshow(_normalised(reward.mean(axis=1)).reshape(n, n), cmap="viridis")
        move = _mean_move(policy)
        # image rows grow downwards, so the row displacement is used as is in data coordinates
        ax.quiver(cols, rows, move[:, 1], move[:, 0], color="white", scale=1.0, scale_units="xy", angles="xy")
        ax.set_title(title + " (normalised)", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(img, ax=ax, fraction=0.046)
    ax = axes[0, 2]
    ax.scatter(_normalised(env.true_reward.mean(axis=1)), _normalised(res.reward.mean(axis=1)))
    ax.set_xlabel("hidden reward (normalised)")
    ax.set_ylabel("learned reward (normalised)")
    ax.set_title("rewards per state (up to shaping)", fontsize=10)
    it = np.arange(len(res.reverse_kl))
    ax = axes[1, 0]
    ax.semilogy(it, res.reverse_kl, label="KL(rho_pi || rho_E)")
    ax.semilogy(it, res.policy_kl, label="E KL(pi || pi_E)")
    ax.set_xlabel("iteration")
    ax.set_title("reverse KL (monotone decrease)", fontsize=10)
    ax.legend()
    ax = axes[1, 1]
    ax.plot(it, res.dual, label="dual (maximised)")
    ax.plot(it, res.primal, label="primal: beta KL - H")
    lo, hi = min(res.dual[-1], res.primal[-1]), max(res.dual[-1], res.primal[-1])
    span = max(hi - lo, 1e-6)
    ax.set_ylim(min(res.dual) - 0.1 * span, hi + 20 * span)
    ax.set_xlabel("iteration")
    ax.set_title("dual objective (monotone increase) and primal", fontsize=10)
    ax.legend()
    ax = axes[1, 2]
    ax.semilogy(it[1:], res.eta[1:], label="eta (scheduled)")
    ax.semilogy(it[1:], res.eps_tr[1:], label="eps_tr = eps / (1 + eta)")
    ax.set_xlabel("iteration")
    ax.legend()
    fig.suptitle("Discrete TRIRL (Algorithm 1) on a 5x5 grid world with exact occupancies")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return str(path)
