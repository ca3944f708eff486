"""Demonstrations for a training run: load or import the task's dataset, check it, fingerprint it.

:func:`prepare_dataset` is called before anything is trained: every problem with the
demonstrations (missing file, wrong robot, a rate that cannot be resampled to the policy rate)
raises here with a message naming it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from trirl_ros.core.demos.dataset import Dataset, DatasetError, sha256_of
from trirl_ros.core.robots.spec import RobotSpec
from trirl_ros.core.train.task import DatasetConfig

log = logging.getLogger(__name__)

#: upsampling by more than this factor would invent the motion between samples
MAX_UPSAMPLE = 4.0


class DatasetMismatchError(DatasetError):
    """The task's dataset does not fit the task (robot, rate); the message names the problem."""


@dataclass(frozen=True)
class PreparedDataset:
    """dataset: at its source rate; policy_rate: resampled to the robot's policy rate (the one the
    trainer uses); source / source_sha256: the file named by the task; dataset_sha256: the
    imported ``.npz`` saved in the run directory (None until saved)."""

    dataset: Dataset
    policy_rate: Dataset
    source: Path
    source_sha256: str
    extra_sources: tuple[tuple[str, str], ...] = ()  # (path, sha256) of each extra source

    def fingerprint(self, saved: Path | None = None) -> dict:
        """JSON-able description written to ``RUN_DIR/dataset.json``."""
        ds = self.dataset
        out = {"source": str(self.source), "source_sha256": self.source_sha256, "robot": ds.robot,
               "frequency_hz": ds.frequency, "policy_rate_hz": self.policy_rate.frequency,
               "frames": ds.num_frames, "clips": ds.num_clips, "clip_names": list(ds.clip_names),
               "provenance": ds.provenance}
        if self.extra_sources:
            out["extra_sources"] = [{"source": p, "source_sha256": h} for p, h in self.extra_sources]
        if saved is not None:
            out["dataset_file"] = saved.name
            out["dataset_sha256"] = sha256_of(saved)
        return out


def _is_dataset_npz(path: Path) -> bool:
    if path.suffix != ".npz" or not path.is_file():
        return False
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            return "schema" in z.files and "qpos" in z.files
    except (OSError, ValueError):
        return False


def load_sources(cfg: DatasetConfig, robot: RobotSpec) -> Dataset:
    """The task's source and extra sources for ``robot``, joined as clips of one dataset (at the
    common source rate, or at the policy rate when the sources' rates differ)."""
    parts = [load_source(cfg, robot, p) for p in cfg.paths()]
    if len(parts) == 1:
        return parts[0]
    if len({round(p.frequency, 9) for p in parts}) > 1:
        parts = [to_policy_rate(p, robot) for p in parts]
    try:
        return Dataset.concatenate(parts)
    except DatasetError as exc:
        raise DatasetMismatchError(f"dataset sources {[str(p) for p in cfg.paths()]} cannot be joined: {exc}") from exc


def load_source(cfg: DatasetConfig, robot: RobotSpec, path: Path | None = None) -> Dataset:
    """Load (dataset ``.npz``) or import (any motion format) one source (default: the task's
    ``source``) for ``robot``.

    Raises FileNotFoundError for a missing source and DatasetMismatchError when the dataset is
    for another robot; import errors (DatasetError subclasses) name the problem.
    """
    path = cfg.path() if path is None else path
    if not path.exists():
        raise FileNotFoundError(f"dataset source not found: {path} (task key dataset.source = {cfg.source!r}, "
                                f"extra_sources = {list(cfg.extra_sources)})")
    if _is_dataset_npz(path):
        ds = Dataset.load(path, check=False)
        if ds.robot != robot.name:
            raise DatasetMismatchError(f"dataset robot {ds.robot!r} differs from the config robot "
                                       f"{robot.name!r} ({path})")
        from trirl_ros.core.demos.dataset import validate

        return validate(ds, robot)
    from trirl_ros.core.demos.importers import ImportOptions, import_motion
    from trirl_ros.core.demos.kinematics import RobotKinematics

    kin = RobotKinematics.for_robot(robot)
    opts = ImportOptions(trust_pickle=cfg.trust_pickle, leg_order=cfg.leg_order, fps=cfg.fps)
    ds = import_motion(path, kin.spec, cfg.format, opts, kin)
    if ds.robot != robot.name:  # importers build for the requested robot; keep the check explicit
        raise DatasetMismatchError(f"dataset robot {ds.robot!r} differs from the config robot {robot.name!r}")
    if cfg.ground != "none":
        from trirl_ros.core.demos.processing import ground_correct

        ds, _ = ground_correct(ds, kin, mode=cfg.ground)
    return ds


def to_policy_rate(ds: Dataset, robot: RobotSpec) -> Dataset:
    """Resample ``ds`` to ``robot.policy_hz``. Raises DatasetMismatchError naming the frequency when
    that is impossible: a source rate below policy_hz / MAX_UPSAMPLE, or no clip spanning at
    least two policy periods."""
    from trirl_ros.core.demos.kinematics import RobotKinematics
    from trirl_ros.core.demos.processing import resample

    hz = robot.policy_hz
    if ds.frequency * MAX_UPSAMPLE < hz:
        raise DatasetMismatchError(
            f"mocap frequency {ds.frequency:g} Hz cannot be resampled to the policy rate {hz:g} Hz "
            f"(upsampling by more than {MAX_UPSAMPLE:g}x would invent the motion between samples)")
    try:
        out = resample(ds, hz, RobotKinematics.for_robot(robot))
    except DatasetError as exc:
        raise DatasetMismatchError(f"mocap frequency {ds.frequency:g} Hz cannot be resampled to the policy "
                                   f"rate {hz:g} Hz: {exc}") from exc
    if max(e - s for s, e in out.clip_ranges()) < 3:
        raise DatasetMismatchError(
            f"mocap frequency {ds.frequency:g} Hz cannot be resampled to the policy rate {hz:g} Hz: "
            f"no clip spans two policy periods")
    return out


def prepare_dataset(cfg: DatasetConfig, robot: RobotSpec) -> PreparedDataset:
    """Load/import, check the robot and the rate; returns the dataset at both rates."""
    ds = load_sources(cfg, robot)
    shas = [sha256_of(p) for p in cfg.paths()]
    return PreparedDataset(ds, to_policy_rate(ds, robot), cfg.path(), shas[0],
                           tuple((str(p), h) for p, h in zip(cfg.paths()[1:], shas[1:])))


def save_prepared(prep: PreparedDataset, run_dir: Path, robot: RobotSpec) -> dict:
    """Write ``RUN_DIR/dataset.npz`` (the imported demonstrations, source rate) and
    ``RUN_DIR/dataset.json`` (fingerprint); returns the fingerprint."""
    path = run_dir / "dataset.npz"
    prep.dataset.save(path, robot)
    fp = prep.fingerprint(path)
    tmp = run_dir / "dataset.json.tmp"
    tmp.write_text(json.dumps(fp, indent=2, default=str))
    tmp.replace(run_dir / "dataset.json")
    return fp


def load_saved(run_dir: Path, robot: RobotSpec) -> PreparedDataset:
    """The dataset a run was started with (resume): checks its sha256 against dataset.json."""
    path, meta = run_dir / "dataset.npz", run_dir / "dataset.json"
    if not path.is_file() or not meta.is_file():
        raise FileNotFoundError(f"{run_dir}: missing dataset.npz / dataset.json (not a training run folder?)")
    fp = json.loads(meta.read_text())
    if fp.get("dataset_sha256") != sha256_of(path):
        raise DatasetMismatchError(f"{path}: sha256 differs from the one recorded in dataset.json")
    ds = Dataset.load(path, robot)
    if ds.robot != robot.name:
        raise DatasetMismatchError(f"dataset robot {ds.robot!r} differs from the config robot {robot.name!r}")
    extra = tuple((e["source"], e["source_sha256"]) for e in fp.get("extra_sources", []))
    return PreparedDataset(ds, to_policy_rate(ds, robot), Path(fp.get("source", path)),
                           str(fp.get("source_sha256", "")), extra)
