"""Baseline reward learners behind the same interface as TRIRL: GAIL, AIRL, AMP, ML-IRL, PIRO."""

from trirl_ros.core.algo.baselines.adversarial import AIRLReward, AMPReward, GAILReward
from trirl_ros.core.algo.baselines.mlirl import MLIRLReward, PIROReward

__all__ = ["GAILReward", "AIRLReward", "AMPReward", "MLIRLReward", "PIROReward"]
