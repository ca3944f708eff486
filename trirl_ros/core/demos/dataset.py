"""The demonstration dataset: one robot, clips of base pose + joint angles, saved as ``.npz``.

Layout of the file (``np.savez``, loaded with ``allow_pickle=False``):

==================  ==========  =======================================================
key                 shape       meaning
==================  ==========  =======================================================
``schema``          ()          ``"trirl_demos/1"``
``robot``           ()          robot spec name, e.g. ``"g1_29dof"``
``joint_names``     (J,)        MJCF joint names of qpos[7:], in MJCF (= policy) order
``frequency``       ()          sample rate in Hz (uniform within every clip)
``qpos``            (T, 7+J)    base position xyz (m, world), base quaternion w,x,y,z
                                (base -> world), joint angles (rad)
``qvel``            (T, 6+J)    MuJoCo convention of a free joint: base linear velocity
                                (world frame), base angular velocity (LOCAL base frame),
                                then joint velocities (rad/s)
``split_points``    (C+1,)      clip starts plus the final end (``[0, ..., T]``)
``clip_names``      (C,)        one name per clip
``time``            (T,)        optional: source time stamps (s) used to find time gaps
``provenance``      ()          JSON: source, sha256, importer, license, notes, ...
==================  ==========  =======================================================

:func:`validate` checks a dataset against a :class:`~trirl_ros.core.robots.spec.RobotSpec`; it
runs on every :meth:`Dataset.save` and :meth:`Dataset.load`. Each failure raises
:class:`DatasetError` naming the clip and the frame.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

log = logging.getLogger(__name__)

SCHEMA = "trirl_demos/1"
#: |‖q‖ - 1| above this is an error (importers normalise their quaternions first).
QUAT_TOL = 1e-3
#: joints beyond their MJCF range by at most this much (rad) are clipped with a warning.
LIMIT_TOL = 0.05
#: a base moving faster than this between two frames is a teleport (m/s) ...
MAX_BASE_SPEED = 10.0
#: ... unless the jump is below this (m), whatever the rate.
MIN_TELEPORT = 0.05
#: a step between time stamps longer than this many sample periods is a time gap.
GAP_FACTOR = 1.5


class DatasetError(ValueError):
    """A dataset (or a file being imported into one) is invalid; the message names clip and frame."""


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file (or of every file below a directory, in sorted order)."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


@dataclasses.dataclass
class Dataset:
    """Demonstrations for one robot.

    Attributes:
        robot: robot spec name.
        joint_names: (J,) MJCF joint names of ``qpos[:, 7:]``.
        frequency: Hz.
        qpos: (T, 7+J) float64 base pos, base quat w,x,y,z, joints.
        qvel: (T, 6+J) float64 base lin vel (world), base ang vel (local), joint vel.
        split_points: (C+1,) int64, clip c is ``[split_points[c], split_points[c+1])``.
        provenance: JSON-able dict (source, sha256, importer, license, ...).
        clip_names: (C,) names, defaults to ``clip0..``.
        time: optional (T,) float64 source time stamps in seconds.
    """

    robot: str
    joint_names: tuple[str, ...]
    frequency: float
    qpos: np.ndarray
    qvel: np.ndarray
    split_points: np.ndarray
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)
    clip_names: tuple[str, ...] = ()
    time: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.joint_names = tuple(str(n) for n in self.joint_names)
        self.frequency = float(self.frequency)
        self.qpos = np.asarray(self.qpos, dtype=np.float64)
        self.qvel = np.asarray(self.qvel, dtype=np.float64)
        self.split_points = np.asarray(self.split_points, dtype=np.int64)
        if self.time is not None:
            self.time = np.asarray(self.time, dtype=np.float64)
        n_clips = max(len(self.split_points) - 1, 0)
        if not self.clip_names:
            self.clip_names = tuple(f"clip{i}" for i in range(n_clips))
        self.clip_names = tuple(str(c) for c in self.clip_names)
        self._check_structure()

    # ------------------------------------------------------------------ structure
    def _check_structure(self) -> None:
        J = len(self.joint_names)
        if not (np.isfinite(self.frequency) and self.frequency > 0):
            raise DatasetError(f"frequency must be a positive number of Hz, got {self.frequency}")
        if self.qpos.ndim != 2 or self.qpos.shape[1] != 7 + J:
            raise DatasetError(
                f"qpos must have shape (T, {7 + J}) for {J} joints, got {self.qpos.shape}"
            )
        if self.qvel.shape != (self.qpos.shape[0], 6 + J):
            raise DatasetError(
                f"qvel must have shape ({self.qpos.shape[0]}, {6 + J}), got {self.qvel.shape}"
            )
        sp = self.split_points
        T = self.qpos.shape[0]
        if sp.ndim != 1 or len(sp) < 2 or sp[0] != 0 or sp[-1] != T or np.any(np.diff(sp) <= 0):
            raise DatasetError(
                f"split_points must rise strictly from 0 to T={T} (clip starts + end), got {sp.tolist()}"
            )
        if len(self.clip_names) != len(sp) - 1:
            raise DatasetError(f"{len(self.clip_names)} clip names for {len(sp) - 1} clips")
        if self.time is not None and self.time.shape != (T,):
            raise DatasetError(f"time must have shape ({T},), got {self.time.shape}")

    # ------------------------------------------------------------------ views
    @property
    def num_frames(self) -> int:
        return int(self.qpos.shape[0])

    @property
    def num_clips(self) -> int:
        return len(self.split_points) - 1

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def dt(self) -> float:
        return 1.0 / self.frequency

    @property
    def duration(self) -> float:
        """Total seconds of motion (sum over clips of (frames - 1) / frequency)."""
        return float(sum(max(e - s - 1, 0) for s, e in self.clip_ranges()) / self.frequency)

    def clip_ranges(self) -> list[tuple[int, int]]:
        """[(start, end)] frame ranges, end exclusive."""
        sp = self.split_points
        return [(int(sp[i]), int(sp[i + 1])) for i in range(len(sp) - 1)]

    def clips(self) -> Iterator["Dataset"]:
        """Yield every clip as its own single-clip Dataset (arrays are views)."""
        for (s, e), name in zip(self.clip_ranges(), self.clip_names):
            yield dataclasses.replace(
                self,
                qpos=self.qpos[s:e],
                qvel=self.qvel[s:e],
                split_points=np.array([0, e - s]),
                clip_names=(name,),
                time=None if self.time is None else self.time[s:e],
                provenance=dict(self.provenance),
            )

    def locate(self, frame: int) -> str:
        """'clip <name> frame <k>' for a global frame index (k is the frame within its clip)."""
        c = int(np.searchsorted(self.split_points, frame, side="right") - 1)
        c = min(max(c, 0), self.num_clips - 1)
        return f"clip '{self.clip_names[c]}' frame {frame - int(self.split_points[c])}"

    # ------------------------------------------------------------------ combine
    @staticmethod
    def concatenate(parts: list["Dataset"]) -> "Dataset":
        """Join datasets of the same robot, joints and frequency into one with all their clips."""
        if not parts:
            raise DatasetError("nothing to concatenate")
        first = parts[0]
        for p in parts[1:]:
            if p.robot != first.robot or p.joint_names != first.joint_names:
                raise DatasetError(f"cannot join datasets of robots {first.robot!r} and {p.robot!r}")
            if abs(p.frequency - first.frequency) > 1e-9:
                raise DatasetError(f"cannot join datasets at {first.frequency} Hz and {p.frequency} Hz")
        offsets = np.cumsum([0] + [p.num_frames for p in parts])
        split = np.concatenate([[0]] + [p.split_points[1:] + o for p, o in zip(parts, offsets)])
        times = None
        if all(p.time is not None for p in parts):
            times = np.concatenate([p.time for p in parts])
        prov = dict(first.provenance)
        if len(parts) > 1:
            prov["parts"] = [p.provenance for p in parts]
        return Dataset(
            robot=first.robot,
            joint_names=first.joint_names,
            frequency=first.frequency,
            qpos=np.concatenate([p.qpos for p in parts]),
            qvel=np.concatenate([p.qvel for p in parts]),
            split_points=split,
            provenance=prov,
            clip_names=tuple(c for p in parts for c in p.clip_names),
            time=times,
        )

    # ------------------------------------------------------------------ I/O
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz payload (no object arrays)."""
        arrays = {
            "schema": np.array(SCHEMA),
            "robot": np.array(self.robot),
            "joint_names": np.array(self.joint_names, dtype=np.str_),
            "frequency": np.array(self.frequency),
            "qpos": self.qpos,
            "qvel": self.qvel,
            "split_points": self.split_points,
            "clip_names": np.array(self.clip_names, dtype=np.str_),
            "provenance": np.array(json.dumps(self.provenance, sort_keys=True, default=str)),
        }
        if self.time is not None:
            arrays["time"] = self.time
        return arrays

    def save(self, path: str | Path, robot_spec: Any | None = None) -> Path:
        """Validate, then write ``path`` atomically (temp file in the same folder + rename).

        ``robot_spec`` defaults to ``load_robot_spec(self.robot)``. Returns the path written.
        """
        path = Path(path)
        checked = validate(self, robot_spec if robot_spec is not None else _spec_for(self.robot))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **checked.to_arrays())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.info("saved %s: %d clips, %d frames at %g Hz", path, checked.num_clips,
                 checked.num_frames, checked.frequency)
        return path

    @classmethod
    def from_arrays(cls, data: Any, where: str = "dataset") -> "Dataset":
        """Build from a mapping of the npz keys (as returned by ``np.load``)."""
        keys = set(data.keys()) if hasattr(data, "keys") else set(data.files)
        missing = {"robot", "joint_names", "frequency", "qpos", "qvel", "split_points"} - keys
        if missing:
            raise DatasetError(f"{where}: not a trirl dataset, missing keys {sorted(missing)}")
        prov = {}
        if "provenance" in keys:
            try:
                prov = json.loads(str(data["provenance"]))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: provenance is not valid JSON: {exc}") from exc
        return cls(
            robot=str(data["robot"]),
            joint_names=tuple(str(n) for n in data["joint_names"]),
            frequency=float(data["frequency"]),
            qpos=data["qpos"],
            qvel=data["qvel"],
            split_points=data["split_points"],
            provenance=prov,
            clip_names=tuple(str(c) for c in data["clip_names"]) if "clip_names" in keys else (),
            time=data["time"] if "time" in keys else None,
        )

    @classmethod
    def load(cls, path: str | Path, robot_spec: Any | None = None, check: bool = True) -> "Dataset":
        """Read a dataset written by :meth:`save` (``allow_pickle=False``) and validate it.

        ``robot_spec`` defaults to ``load_robot_spec(dataset.robot)``; ``check=False`` skips
        validation (for ``trirl demos info`` on a broken file, say).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"dataset not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                ds = cls.from_arrays({k: data[k] for k in data.files}, where=str(path))
        except DatasetError:
            raise
        except (ValueError, OSError, EOFError) as exc:
            raise DatasetError(f"{path}: cannot read as a dataset npz: {exc}") from exc
        if check:
            ds = validate(ds, robot_spec if robot_spec is not None else _spec_for(ds.robot))
        return ds


def _spec_for(robot: str) -> Any:
    from trirl_ros.core.robots.spec import load_robot_spec

    return load_robot_spec(robot)


def validate(ds: Dataset, robot_spec: Any, limit_tol: float = LIMIT_TOL) -> Dataset:
    """Check ``ds`` against ``robot_spec`` and return it (joints within ``limit_tol`` of a
    limit clipped, with a warning). Raises :class:`DatasetError` naming clip and frame for:
    robot or joint mismatch, NaN/inf, non-unit quaternions, joints beyond limits by more than
    ``limit_tol`` rad, base teleports, time gaps.
    """
    if ds.robot != robot_spec.name:
        raise DatasetError(f"dataset is for robot {ds.robot!r}, not {robot_spec.name!r}")
    names = tuple(robot_spec.joint_names)
    if ds.joint_names != names:
        extra = [n for n in ds.joint_names if n not in names]
        missing = [n for n in names if n not in ds.joint_names]
        raise DatasetError(
            f"joint names do not match robot {robot_spec.name!r} (MJCF order): "
            f"unknown {extra}, missing {missing}"
            + ("" if extra or missing else ", same names in another order")
        )
    qpos, qvel = ds.qpos, ds.qvel
    for label, arr, cols in (("qpos", qpos, _qpos_cols(names)), ("qvel", qvel, _qvel_cols(names))):
        bad = ~np.isfinite(arr)
        if bad.any():
            t, j = np.argwhere(bad)[0]
            raise DatasetError(f"{ds.locate(int(t))}: {label} {cols[j]} is {arr[t, j]} (NaN/inf)")
    norms = np.linalg.norm(qpos[:, 3:7], axis=1)
    off = np.abs(norms - 1.0) > QUAT_TOL
    if off.any():
        t = int(np.argmax(off))
        raise DatasetError(f"{ds.locate(t)}: base quaternion has norm {norms[t]:.6f}, not 1")
    limits = np.asarray(robot_spec.pos_limits, dtype=np.float64)
    joints = qpos[:, 7:]
    below = limits[:, 0] - joints
    above = joints - limits[:, 1]
    excess = np.maximum(below, above)
    if (excess > limit_tol).any():
        t, j = np.argwhere(excess > limit_tol)[0]
        raise DatasetError(
            f"{ds.locate(int(t))}: joint {names[j]} = {joints[t, j]:.4f} rad is beyond its limits "
            f"[{limits[j, 0]:.4f}, {limits[j, 1]:.4f}] by more than {limit_tol} rad"
        )
    if (excess > 0).any():
        count = np.count_nonzero(excess > 0)
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        log.warning(
            "clipped %d joint values to their limits (worst %s at %s, %.4f rad over)",
            count, names[worst[1]], ds.locate(int(worst[0])), excess[worst],
        )
        qpos = qpos.copy()
        qpos[:, 7:] = np.clip(joints, limits[:, 0], limits[:, 1])
    jump_limit = max(MIN_TELEPORT, MAX_BASE_SPEED / ds.frequency)
    for (s, e), name in zip(ds.clip_ranges(), ds.clip_names):
        if e - s > 1:
            jumps = np.linalg.norm(np.diff(qpos[s:e, :3], axis=0), axis=1)
            if (jumps > jump_limit).any():
                k = int(np.argmax(jumps > jump_limit))
                raise DatasetError(
                    f"clip '{name}' frame {k + 1}: base teleports by {jumps[k]:.3f} m in one frame "
                    f"(limit {jump_limit:.3f} m at {ds.frequency:g} Hz)"
                )
        if ds.time is not None and e - s > 1:
            steps = np.diff(ds.time[s:e])
            bad = (steps > GAP_FACTOR / ds.frequency) | (steps <= 0)
            if bad.any():
                k = int(np.argmax(bad))
                raise DatasetError(
                    f"clip '{name}' frame {k + 1}: time gap of {steps[k]:.4f} s "
                    f"(expected {1 / ds.frequency:.4f} s)"
                )
    if qpos is not ds.qpos:
        ds = dataclasses.replace(ds, qpos=qpos)
    return ds


def _qpos_cols(names: tuple[str, ...]) -> list[str]:
    return ["base_x", "base_y", "base_z", "quat_w", "quat_x", "quat_y", "quat_z", *names]


def _qvel_cols(names: tuple[str, ...]) -> list[str]:
    return ["base_vx", "base_vy", "base_vz", "base_wx", "base_wy", "base_wz", *names]
