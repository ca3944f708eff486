"""Importers: one module per motion format, each turning a source file into a :class:`Dataset`.

Every importer module defines ``NAME``, ``sniff(path, head) -> bool`` (is this file surely in my
format?) and ``load(path, kin, opts) -> Dataset`` (at the source's own rate, velocities by
finite differences). :func:`import_motion` picks the importer (``fmt`` or auto-detection),
fills the provenance (source file, sha256, importer, license note) and validates the result.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from pathlib import Path
from typing import Any

from trirl_ros.core.demos.dataset import Dataset, DatasetError, sha256_of, validate
from trirl_ros.core.demos.kinematics import RobotKinematics

log = logging.getLogger(__name__)

#: format name -> module (in auto-detection order)
FORMATS = {
    "dataset": "trirl_ros.core.demos.importers.dataset_npz",
    "rosbag": "trirl_ros.core.demos.importers.rosbag",
    "locomujoco": "trirl_ros.core.demos.importers.locomujoco",
    "phc": "trirl_ros.core.demos.importers.phc_pickle",
    "amp": "trirl_ros.core.demos.importers.amp_json",
    "bvh": "trirl_ros.core.demos.importers.bvh",
    "csv": "trirl_ros.core.demos.importers.csv_g1",
}


class UnknownFormatError(DatasetError):
    """The format of a source could not be recognised (or a --format name is unknown)."""


@dataclasses.dataclass(frozen=True)
class ImportOptions:
    """Options of ``trirl demos import`` shared by the importers (each reads what it needs).

    trust_pickle: allow loading pickles (PHC/ASAP); they can run code when loaded.
    leg_order: AMP leg order of the 12 joint columns, "FL,FR,RL,RR" (Go2) or "FR,FL,RR,RL".
    fps: frame rate of formats without one (CSV; default 30).
    license: license note recorded in the provenance.
    joint_topic / pose_topic: rosbag topics (pose_topic "" = auto: the only pose-like topic).
    base_frame / world_frame: TF frames for TFMessage base poses ("" = robot base body / any).
    rate: Hz of datasets built from time-stamped streams (bags).
    split_gap: s, a pause longer than this in a bag starts a new clip.
    ik_rate: Hz at which BVH motion is retargeted (frames in between are skipped).
    bvh_scale: metres per BVH unit ("auto": 1 for files whose legs are ~1 m long, else 0.01).
    """

    trust_pickle: bool = False
    leg_order: str = "FL,FR,RL,RR"
    fps: float | None = None
    license: str = ""
    joint_topic: str = "/joint_states"
    pose_topic: str = ""
    base_frame: str = ""
    world_frame: str = ""
    rate: float = 50.0
    split_gap: float = 0.25
    ik_rate: float = 30.0
    bvh_scale: float | None = None


def _module(fmt: str):
    if fmt not in FORMATS:
        raise UnknownFormatError(f"unknown format {fmt!r}; known formats: {sorted(FORMATS)}")
    return importlib.import_module(FORMATS[fmt])


def detect_format(path: str | Path) -> str:
    """Name of the format of ``path`` (a file or a rosbag2 directory).

    Raises UnknownFormatError when no importer recognises it, FileNotFoundError if missing.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"motion source not found: {path}")
    head = b""
    if path.is_file():
        with open(path, "rb") as fh:
            head = fh.read(4096)
    matches = [fmt for fmt in FORMATS if _module(fmt).sniff(path, head)]
    if not matches:
        raise UnknownFormatError(
            f"cannot tell the format of {path}; pass --format one of {sorted(FORMATS)}"
        )
    if len(matches) > 1:
        raise UnknownFormatError(f"{path} looks like several formats {matches}; pass --format")
    return matches[0]


def import_motion(
    src: str | Path,
    robot: Any,
    fmt: str | None = None,
    opts: ImportOptions | None = None,
    kin: RobotKinematics | None = None,
) -> Dataset:
    """Import ``src`` for ``robot`` (name or RobotSpec) and return a validated Dataset.

    Raises FileNotFoundError, UnknownFormatError, DatasetError (all naming the problem).
    """
    src = Path(src)
    opts = opts or ImportOptions()
    if not src.exists():
        raise FileNotFoundError(f"motion source not found: {src}")
    fmt = fmt or detect_format(src)
    module = _module(fmt)
    kin = kin or RobotKinematics.for_robot(robot)
    ds = module.load(src, kin, opts)
    if fmt == "dataset":  # keep the original provenance
        return validate(ds, kin.spec)
    ds.provenance = {
        "source": src.name,
        "sha256": sha256_of(src),
        "importer": f"{fmt} ({module.__name__})",
        "license": opts.license,
        **ds.provenance,
    }
    return validate(ds, kin.spec)


def missing_fill(kin: RobotKinematics, name: str) -> float:
    """Value for a robot joint the source does not have: 0 if within limits, else the default."""
    j = kin.spec.joint_names.index(name)
    lo, hi = kin.spec.pos_limits[j]
    return 0.0 if lo <= 0.0 <= hi else float(kin.spec.default_pos[j])
