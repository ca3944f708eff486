"""AMP motion JSON (Peng et al. motion files, as used by amp_go2 / legged_gym AMP).

``{"LoopMode", "FrameDuration", ..., "Frames": [[61 floats], ...]}``, per frame:
root position (3, world), root quaternion x,y,z,w (4), 12 joint angles (hip, thigh, calf per leg),
4 foot positions in the base frame (12), base linear velocity (3), base angular velocity (3),
joint velocities (12), foot velocities (12). Legs are FL, FR, RL, RR for Go2 clips;
``--leg-order FR,FL,RR,RL`` reads clips made in the PyBullet A1 order.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset, DatasetError
from trirl_ros.core.demos.processing import build_clip

log = logging.getLogger(__name__)

NAME = "amp"
FRAME_WIDTH = 61
LEGS = ("FL", "FR", "RL", "RR")
PARTS = ("hip", "thigh", "calf")
# column slices of one frame
ROOT_POS, ROOT_ROT, JOINTS, FEET = slice(0, 3), slice(3, 7), slice(7, 19), slice(19, 31)


def sniff(path: Path, head: bytes) -> bool:
    text = head.lstrip()
    return path.is_file() and text.startswith(b"{") and b'"Frames"' in head


def parse_leg_order(text: str) -> tuple[str, ...]:
    order = tuple(p.strip().upper() for p in text.split(","))
    if sorted(order) != sorted(LEGS):
        raise ValueError(f"--leg-order must name the legs FL, FR, RL, RR once each, got {text!r}")
    return order


def read_amp(path: Path) -> tuple[np.ndarray, float, dict]:
    """Frames (T, 61), frame duration (s) and the other header keys of an AMP motion file."""
    try:
        doc = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path.name}: not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or "Frames" not in doc or "FrameDuration" not in doc:
        raise DatasetError(f"{path.name}: an AMP motion file needs 'Frames' and 'FrameDuration'")
    rows = doc["Frames"]
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != FRAME_WIDTH:
            n = len(row) if isinstance(row, list) else type(row).__name__
            raise DatasetError(f"{path.name} frame {i}: {n} values, expected {FRAME_WIDTH}")
    frames = np.asarray(rows, dtype=np.float64)
    if frames.ndim != 2 or len(frames) < 2:
        raise DatasetError(f"{path.name}: needs at least 2 frames")
    dt = float(doc["FrameDuration"])
    if not np.isfinite(dt) or dt <= 0:
        raise DatasetError(f"{path.name}: FrameDuration must be > 0 s, got {dt}")
    header = {k: v for k, v in doc.items() if k != "Frames"}
    return frames, dt, header


def load(path: Path, kin, opts) -> Dataset:
    frames, dt, header = read_amp(path)
    order = parse_leg_order(opts.leg_order)
    robot = kin.spec.joint_names
    joints = np.zeros((len(frames), len(robot)))
    for k, leg in enumerate(order):
        for p, part in enumerate(PARTS):
            name = f"{leg}_{part}_joint"
            if name not in robot:
                raise DatasetError(
                    f"{path.name}: joint {name} of the AMP leg layout is not a joint of "
                    f"{kin.spec.name} (AMP files are for quadrupeds: use --robot go2)"
                )
            joints[:, robot.index(name)] = frames[:, 7 + 3 * k + p]
    if len(robot) != 12:
        raise DatasetError(f"{path.name}: AMP frames hold 12 joints, {kin.spec.name} has {len(robot)}")
    prov = {"leg_order": ",".join(order), "header": header}
    return build_clip(kin, frames[:, ROOT_POS], Q.xyzw_to_wxyz(frames[:, ROOT_ROT]), joints,
                      1.0 / dt, path.stem, prov)
