"""BeyondMimic / LAFAN1-retargeted G1 CSV: no header, one row per frame:
root position x,y,z (m), root quaternion x,y,z,w, then the 29 joint angles in the G1 motor order
(``unitree_hg`` slots 0..28). 30 fps unless ``--fps`` says otherwise. Joints are placed by each
spec joint's ``motor_index``, so a 23-DoF spec takes its joints from the same columns.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset, DatasetError
from trirl_ros.core.demos.processing import build_clip

log = logging.getLogger(__name__)

NAME = "csv"
NUM_MOTORS = 29
COLUMNS = 7 + NUM_MOTORS
DEFAULT_FPS = 30.0


def sniff(path: Path, head: bytes) -> bool:
    if not path.is_file() or path.suffix.lower() != ".csv":
        return False
    line = head.split(b"\n", 1)[0]
    return line.count(b",") == COLUMNS - 1


def read_rows(path: Path) -> np.ndarray:
    """(T, 36) float64; errors name the row with the wrong column count or a non-number."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            line = line.strip()
            if not line:
                continue
            cells = line.split(",")
            if len(cells) != COLUMNS:
                raise DatasetError(
                    f"{path.name} row {i}: {len(cells)} columns, expected {COLUMNS} "
                    "(root xyz, quat xyzw, 29 G1 joints in motor order)"
                )
            try:
                rows.append([float(c) for c in cells])
            except ValueError as exc:
                raise DatasetError(f"{path.name} row {i}: not a number ({exc})") from exc
    if len(rows) < 2:
        raise DatasetError(f"{path.name}: needs at least 2 rows, got {len(rows)}")
    return np.asarray(rows)


def load(path: Path, kin, opts) -> Dataset:
    if not kin.spec.name.startswith("g1"):
        raise DatasetError(f"{path.name}: the G1 CSV format holds G1 motions, not {kin.spec.name}")
    data = read_rows(path)
    motors = np.asarray(kin.spec.motor_indices)
    if motors.max() >= NUM_MOTORS:
        raise DatasetError(f"{kin.spec.name}: motor slots {motors.tolist()} exceed the CSV's 29 joints")
    fps = float(opts.fps or DEFAULT_FPS)
    return build_clip(kin, data[:, 0:3], Q.xyzw_to_wxyz(data[:, 3:7]), data[:, 7 + motors], fps,
                      path.stem, {"fps": fps})


def write_csv(ds: Dataset, path: str | Path, spec) -> Path:
    """Write a G1 dataset as a BeyondMimic CSV (joints the spec lacks are written as 0), atomically."""
    path = Path(path)
    out = np.zeros((ds.num_frames, COLUMNS))
    out[:, 0:3] = ds.qpos[:, 0:3]
    out[:, 3:7] = Q.wxyz_to_xyzw(ds.qpos[:, 3:7])
    out[:, 7 + np.asarray(spec.motor_indices)] = ds.qpos[:, 7:]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        np.savetxt(fh, out, delimiter=",", fmt="%.9g")
    os.replace(tmp, path)
    return path
