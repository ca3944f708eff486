"""Demonstrations: the validated dataset format, importers of motion formats, BVH retargeting,
processing (resampling, velocities, ground correction) and expert transitions for training.

Typical use by the trainer::

    from trirl_ros.core.demos import Dataset, expert_transitions
    ds = Dataset.load("demos/walk.npz")                     # validated against its robot spec
    tr = expert_transitions(ds, robot_spec, obs_spec)       # resampled to robot.policy_hz
    tr.obs, tr.next_obs  # (M, D) float32 each; tr.absorbing (M,) bool; tr.clip_ids (M,)
"""

from trirl_ros.core.demos.dataset import Dataset, DatasetError, validate
from trirl_ros.core.demos.importers import ImportOptions, detect_format, import_motion
from trirl_ros.core.demos.kinematics import RobotKinematics
from trirl_ros.core.demos.processing import (
    ExpertTransitions,
    GroundReport,
    expert_transitions,
    fill_velocities,
    ground_correct,
    resample,
    robot_states,
)

__all__ = [
    "Dataset", "DatasetError", "validate", "ImportOptions", "detect_format", "import_motion",
    "RobotKinematics", "ExpertTransitions", "GroundReport", "expert_transitions", "fill_velocities",
    "ground_correct", "resample", "robot_states",
]
