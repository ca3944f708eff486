"""The discriminator's view of an observation: selected terms of the newest frame.

The policy observation may stack a history and carries ``last_action``; demonstrations have no
actions (their last_action is synthetic) and the history of a demonstration is no evidence of
expertise. The reward learner should therefore see a *view*: chosen terms of the newest frame.

:class:`DiscView` maps policy observations (B, D) to features (B, Dd) by column selection and
carries the equivalent :class:`ObsSpec` (history 1) to build expert features directly from
demonstration states, so both sides match exactly. :class:`FeatureViewReward` wraps any
:class:`RewardLearner` built for Dd-dimensional states so that the agent can keep handing it
D-dimensional transitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trirl_ros.core.algo.reward_learner import RewardLearner
from trirl_ros.core.algo.transitions import Transitions
from trirl_ros.core.envs.obs_spec import ObsSpec


@dataclass(frozen=True)
class DiscView:
    """obs_spec: the policy's ObsSpec; spec: the view's ObsSpec (the chosen terms in the policy's
    order, same scales and clips, history 1); columns: (Dd,) indices into the policy observation."""

    obs_spec: ObsSpec
    spec: ObsSpec
    columns: tuple[int, ...]

    @staticmethod
    def build(obs_spec: ObsSpec, terms: tuple[str, ...] | list[str], num_joints: int) -> "DiscView":
        """View of ``terms`` (names in ``obs_spec``) of the newest frame (the first ``frame_dim``
        columns: history is stacked newest first)."""
        names = [t.name for t in obs_spec.terms]
        unknown = [t for t in terms if t not in names]
        if unknown or not terms:
            raise ValueError(f"discriminator terms {list(terms)} must be a non-empty subset of the "
                             f"observation terms {names}")
        slices = obs_spec.term_slices(num_joints)
        chosen = tuple(t for t in obs_spec.terms if t.name in terms)
        cols = tuple(i for t in chosen for i in range(slices[t.name].start, slices[t.name].stop))
        return DiscView(obs_spec, ObsSpec(terms=chosen, history=1), cols)

    @property
    def dim(self) -> int:
        return len(self.columns)

    @property
    def is_identity(self) -> bool:
        """True when the view is the whole observation (no wrapper needed)."""
        return self.obs_spec.history == 1 and self.spec == self.obs_spec

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, Dd)."""
        idx = torch.as_tensor(self.columns, dtype=torch.long, device=obs.device)
        return obs.index_select(-1, idx)

    def transitions(self, batch: Transitions) -> Transitions:
        """The same transitions seen through the view (absorbing zeros stay zeros)."""
        return Transitions(self(batch.obs), self(batch.next_obs), batch.action, batch.next_absorbing,
                           batch.obs_absorbing)


class FeatureViewReward(RewardLearner):
    """Wraps ``inner`` (a RewardLearner for Dd-dimensional states): agent batches (D-dimensional)
    pass through ``view``; expert batches given to :meth:`update` must already be in the view's
    feature space (built with ``view.spec``). ``log_prob_fn`` is not forwarded (the inner learner
    only sees features, which a policy cannot evaluate)."""

    def __init__(self, inner: RewardLearner, view: DiscView) -> None:
        self.inner, self.view = inner, view
        self.inner.log_prob_fn = None
        self._last: tuple[Transitions, Transitions] | None = None

    def _v(self, batch: Transitions) -> Transitions:
        # keep identity for the inner learner's per-batch caches (update() then reward() on one batch)
        if self._last is not None and self._last[0] is batch:
            return self._last[1]
        viewed = self.view.transitions(batch)
        self._last = (batch, viewed)
        return viewed

    def update(self, expert_batch: Transitions, agent_batch: Transitions) -> dict[str, float]:
        if expert_batch.obs.shape[1] != self.view.dim:
            raise ValueError(f"FeatureViewReward: expert features have {expert_batch.obs.shape[1]} columns, "
                             f"the view has {self.view.dim}")
        return self.inner.update(expert_batch, self._v(agent_batch))

    def reward(self, batch: Transitions) -> torch.Tensor:
        return self.inner.reward(self._v(batch))

    def frozen_reward(self, batch: Transitions) -> torch.Tensor:
        return self.inner.frozen_reward(self._v(batch))

    def after_policy_update(self, eta, old_policy) -> dict[str, float]:
        self._last = None
        return self.inner.after_policy_update(eta, old_policy)

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self._last = None
        self.inner.load_state_dict(state)


def build_agent(algo, obs_dim: int, act_dim: int, num_envs: int, view: DiscView | None, device="cpu",
                seed: int = 0):
    """``make_agent`` whose reward learner sees ``view`` (None or an identity view: unchanged).

    The inner learner is built exactly as the agent builds its own (same config, generator and,
    for TRIRL, policy template) but for the view's feature size. TRIRL's retrospective-eta variant
    evaluates buffered policies on the learner's states and cannot use a view.
    """
    from trirl_ros.core.algo.agent import TRIRL, make_agent
    from trirl_ros.core.algo.trirl_reward import TRIRLReward

    agent = make_agent(algo, obs_dim, act_dim, num_envs, device=device, seed=seed)
    if view is None or view.is_identity or agent.learner is None:
        return agent
    if isinstance(agent, TRIRL):
        if algo.trirl.variant == "retrospective_eta":
            raise ValueError("trirl.variant retrospective_eta needs the discriminator to see the policy's "
                             "observation; set disc_terms to every observation term with history 1, or "
                             "use max_eta / tr_loss")
        inner = TRIRLReward(view.dim, act_dim, algo, agent.policy, device, agent.generator)
    else:
        inner = type(agent.learner)(view.dim, act_dim, algo, device, agent.generator)
    agent.learner = FeatureViewReward(inner, view)
    return agent
