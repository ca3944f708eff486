"""Time-stamped joint and base-pose streams (from bags or live topics) -> a uniform Dataset.

Both streams are cut where they pause for longer than ``split_gap`` seconds (or where time runs
backwards, e.g. a looping replay); every interval covered by both streams becomes a clip sampled
at ``rate`` Hz from its first common time stamp: joints and base position by linear interpolation,
base orientation by slerp. Velocities come from finite differences of the resampled poses.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset, DatasetError
from trirl_ros.core.demos.kinematics import RobotKinematics
from trirl_ros.core.demos.processing import build_clip

log = logging.getLogger(__name__)


class JointNameMapper:
    """Maps JointState messages (names, positions) into the robot's joint order, caching the
    index map per distinct name list. Unknown names are reported once and ignored; a message
    that names none of the robot's joints raises DatasetError."""

    def __init__(self, joint_names: tuple[str, ...]):
        self.joint_names = tuple(joint_names)
        self._index = {n: i for i, n in enumerate(self.joint_names)}
        self._cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self.unknown: set[str] = set()

    def __call__(self, names, positions) -> np.ndarray:
        """(J,) positions in robot order, NaN for joints the message does not carry."""
        key = tuple(names)
        if key not in self._cache:
            src, dst = [], []
            for k, n in enumerate(key):
                if n in self._index:
                    src.append(k)
                    dst.append(self._index[n])
                elif n not in self.unknown:
                    self.unknown.add(n)
                    log.warning("joint %r is not a joint of the robot: ignored", n)
            if not dst:
                raise DatasetError(
                    f"JointState names {list(key)[:5]}{'...' if len(key) > 5 else ''} match none of "
                    f"the robot's joints ({self.joint_names[0]}, ...): unknown joint names"
                )
            self._cache[key] = (np.array(src), np.array(dst))
        src, dst = self._cache[key]
        out = np.full(len(self.joint_names), np.nan)
        pos = np.asarray(positions, dtype=np.float64)
        if len(pos) != len(key):
            raise DatasetError(f"JointState has {len(key)} names but {len(pos)} positions")
        out[dst] = pos[src]
        return out


def _segments(t: np.ndarray, split_gap: float) -> list[tuple[int, int]]:
    """Index ranges [s, e) of t without pauses > split_gap or backward steps."""
    if len(t) == 0:
        return []
    breaks = np.flatnonzero((np.diff(t) > split_gap) | (np.diff(t) <= 0)) + 1
    bounds = np.concatenate([[0], breaks, [len(t)]])
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(bounds) - 1)]


def align_streams(
    kin: RobotKinematics,
    joint_t: np.ndarray,
    joint_q: np.ndarray,
    pose_t: np.ndarray,
    pose_pos: np.ndarray,
    pose_quat_wxyz: np.ndarray,
    rate: float,
    split_gap: float = 0.25,
    name: str = "clip",
    provenance: dict[str, Any] | None = None,
) -> Dataset:
    """Build a Dataset from streams.

    Args:
        joint_t: (N,) s; joint_q: (N, J) rad in robot order (NaN = joint not in that message;
            a joint never seen raises DatasetError).
        pose_t: (M,) s; pose_pos: (M, 3) m; pose_quat_wxyz: (M, 4).
        rate: Hz of the output grid. split_gap: s.
    """
    joint_q = np.asarray(joint_q, dtype=np.float64)
    if len(joint_t) < 2 or len(pose_t) < 2:
        raise DatasetError(
            f"need at least 2 joint states and 2 base poses, got {len(joint_t)} and {len(pose_t)}"
        )
    never = np.isnan(joint_q).all(axis=0)
    if never.any():
        missing = [kin.spec.joint_names[j] for j in np.flatnonzero(never)]
        raise DatasetError(f"joints never received: {missing}")
    # joints missing from some messages: hold the last received value
    for j in np.flatnonzero(np.isnan(joint_q).any(axis=0)):
        col = joint_q[:, j]
        idx = np.where(np.isnan(col), 0, np.arange(len(col)))
        np.maximum.accumulate(idx, out=idx)
        first = np.flatnonzero(~np.isnan(col))[0]
        col[:first] = col[first]
        joint_q[:, j] = col[np.maximum(idx, first)]
    parts = []
    for js, je in _segments(np.asarray(joint_t), split_gap):
        for ps, pe in _segments(np.asarray(pose_t), split_gap):
            a = max(joint_t[js], pose_t[ps])
            b = min(joint_t[je - 1], pose_t[pe - 1])
            n = int(np.floor((b - a) * rate + 1e-6)) + 1 if b > a else 0
            if n < 2:
                continue
            grid = a + np.arange(n) / rate
            jt, jq = joint_t[js:je], joint_q[js:je]
            pt = pose_t[ps:pe]
            joints = np.stack([np.interp(grid, jt, jq[:, j]) for j in range(jq.shape[1])], axis=1)
            pos = np.stack([np.interp(grid, pt, pose_pos[ps:pe, i]) for i in range(3)], axis=1)
            quat = Q.interp(pt, Q.make_continuous(Q.normalize(pose_quat_wxyz[ps:pe])), grid)
            parts.append(build_clip(kin, pos, quat, joints, rate, f"{name}_{len(parts)}",
                                    provenance or {}, time=grid))
    if not parts:
        raise DatasetError("the joint and base-pose streams never overlap for two samples")
    return Dataset.concatenate(parts)
