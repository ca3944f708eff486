"""BVH human motion capture, retargeted to the G1 by per-frame inverse kinematics
(:mod:`trirl_ros.core.demos.retarget`).

The parser reads the HIERARCHY (joint offsets, channel orders) and MOTION sections; the
skeleton's world positions per frame are computed here, then handed to the retargeter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trirl_ros.core.demos.dataset import Dataset, DatasetError

log = logging.getLogger(__name__)

NAME = "bvh"


def sniff(path: Path, head: bytes) -> bool:
    return path.is_file() and head.lstrip().startswith(b"HIERARCHY")


@dataclass
class Skeleton:
    """A parsed BVH file.

    names: (B,) joint names (end sites named ``<parent>_end``); parents: (B,) index, -1 root;
    offsets: (B, 3) in file units; channels: per joint the channel names; motion: (T, C) values;
    frame_time: s.
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[list[str]]
    motion: np.ndarray
    frame_time: float

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise DatasetError(f"BVH skeleton has no joint {name!r}") from None

    def world_positions(self, frames: np.ndarray | None = None) -> np.ndarray:
        """Joint positions (T, B, 3) in file units and axes for the given frame indices."""
        motion = self.motion if frames is None else self.motion[frames]
        T, B = len(motion), len(self.names)
        pos = np.zeros((T, B, 3))
        rot = np.zeros((T, B, 3, 3))
        col = 0
        for b in range(B):
            local_t = np.broadcast_to(self.offsets[b], (T, 3)).copy()
            local_r = np.broadcast_to(np.eye(3), (T, 3, 3)).copy()
            for ch in self.channels[b]:
                v = motion[:, col]
                col += 1
                axis = ch[0].lower()
                if ch.endswith("position"):
                    local_t[:, "xyz".index(axis)] = v
                else:
                    local_r = local_r @ _axis_rot(axis, np.deg2rad(v))
            p = self.parents[b]
            if p < 0:
                pos[:, b] = local_t
                rot[:, b] = local_r
            else:
                pos[:, b] = pos[:, p] + np.einsum("tij,tj->ti", rot[:, p], local_t)
                rot[:, b] = rot[:, p] @ local_r
        return pos


def _axis_rot(axis: str, a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    if axis == "x":
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "y":
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def parse_bvh(path: Path) -> Skeleton:
    """Parse a BVH file; errors name the line."""
    tokens_lines = Path(path).read_text(errors="replace").splitlines()
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    i = 0
    n_channels = 0
    try:
        while i < len(tokens_lines):
            parts = tokens_lines[i].split()
            i += 1
            if not parts:
                continue
            key = parts[0].upper()
            if key in ("ROOT", "JOINT"):
                names.append(parts[1] if len(parts) > 1 else f"joint{len(names)}")
                parents.append(stack[-1] if stack else -1)
                offsets.append(np.zeros(3))
                channels.append([])
                stack.append(len(names) - 1)
            elif key == "END":
                names.append(f"{names[stack[-1]]}_end")
                parents.append(stack[-1])
                offsets.append(np.zeros(3))
                channels.append([])
                stack.append(len(names) - 1)
            elif key == "OFFSET":
                offsets[stack[-1]] = np.array([float(x) for x in parts[1:4]])
            elif key == "CHANNELS":
                chans = parts[2:2 + int(parts[1])]
                channels[stack[-1]] = chans
                n_channels += len(chans)
            elif key == "}":
                stack.pop()
            elif key == "MOTION":
                break
        frames_line = tokens_lines[i].split()
        n_frames = int(frames_line[-1])
        frame_time = float(tokens_lines[i + 1].split()[-1])
        rows = [line.split() for line in tokens_lines[i + 2:] if line.strip()]
    except (ValueError, IndexError) as exc:
        raise DatasetError(f"{Path(path).name} line {i}: malformed BVH ({exc})") from exc
    if not names or stack:
        raise DatasetError(f"{Path(path).name}: malformed BVH hierarchy")
    for r, row in enumerate(rows):
        if len(row) != n_channels:
            raise DatasetError(
                f"{Path(path).name} frame {r}: {len(row)} values, expected {n_channels} channels"
            )
    if len(rows) != n_frames:
        log.warning("%s: header says %d frames, file holds %d", Path(path).name, n_frames, len(rows))
    motion = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(motion).all():
        raise DatasetError(f"{Path(path).name} frame {int(np.argmax(~np.isfinite(motion).all(1)))}: NaN/inf")
    return Skeleton(names, parents, np.array(offsets), channels, motion, frame_time)


def load(path: Path, kin, opts) -> Dataset:
    from trirl_ros.core.demos.retarget.bvh_to_g1 import retarget_bvh

    if not kin.spec.name.startswith("g1"):
        raise DatasetError(f"{path.name}: BVH retargeting targets the G1, not {kin.spec.name}")
    return retarget_bvh(parse_bvh(path), kin, opts, name=path.stem)
