"""PHC / ASAP motion pickles (joblib): ``{clip: {root_trans_offset (T,3), root_rot (T,4) x,y,z,w,
dof (T,23), fps, ...}}``.

A pickle can run arbitrary code when it is loaded, so :func:`load` refuses unless the user passes
``--trust-pickle``. Even then the file is read with a restricted unpickler that only builds
plain containers and numpy arrays (joblib's ``NumpyArrayWrapper`` with the array bytes stored
after it in the stream), never importing anything else.

The 23 ``dof`` columns are the 29-DoF G1 without its 6 wrist joints: left leg (hip pitch, roll,
yaw, knee, ankle pitch, roll), right leg, waist (yaw, roll, pitch), left arm (shoulder pitch,
roll, yaw, elbow), right arm. Robot joints absent from the source (wrists) are held at 0.
A ``dof`` of 29 columns is taken as the full G1 in MJCF order.
"""

from __future__ import annotations

import io
import logging
import pickle
from pathlib import Path

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset, DatasetError
from trirl_ros.core.demos.importers import missing_fill
from trirl_ros.core.demos.processing import build_clip

log = logging.getLogger(__name__)

NAME = "phc"
_LEG = ["hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll"]
_ARM = ["shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow"]
_WRIST = ["wrist_roll", "wrist_pitch", "wrist_yaw"]
DOF23 = tuple(
    f"{n}_joint"
    for n in [f"left_{j}" for j in _LEG] + [f"right_{j}" for j in _LEG]
    + ["waist_yaw", "waist_roll", "waist_pitch"]
    + [f"left_{j}" for j in _ARM] + [f"right_{j}" for j in _ARM]
)
DOF29 = tuple(
    f"{n}_joint"
    for n in [f"left_{j}" for j in _LEG] + [f"right_{j}" for j in _LEG]
    + ["waist_yaw", "waist_roll", "waist_pitch"]
    + [f"left_{j}" for j in _ARM + _WRIST] + [f"right_{j}" for j in _ARM + _WRIST]
)


class PickleRefusedError(DatasetError):
    """A pickle was given without --trust-pickle."""


def sniff(path: Path, head: bytes) -> bool:
    return path.is_file() and len(head) > 2 and head[0] == 0x80 and head[1] in (2, 3, 4, 5) \
        and (b"root_rot" in head or b"root_trans_offset" in head or path.suffix in (".pkl", ".pickle"))


class _ArrayWrapper:
    """Stand-in for joblib's NumpyArrayWrapper: its state says how to read the bytes that follow."""

    def __setstate__(self, state):
        self.__dict__.update(state)


_ALLOWED = {
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): _ArrayWrapper,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): None,
    ("numpy._core.multiarray", "_reconstruct"): None,
    ("numpy.core.multiarray", "scalar"): None,
    ("numpy._core.multiarray", "scalar"): None,
}


class _SafeUnpickler(pickle._Unpickler):  # pure-python unpickler: BUILD can be intercepted
    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            obj = _ALLOWED[(module, name)]
            if obj is None:
                from numpy._core import multiarray  # type: ignore[attr-defined]

                obj = getattr(multiarray, name)
            return obj
        raise DatasetError(f"pickle wants to load {module}.{name}: not a plain motion file, refused")

    def _load_build(self):
        self.load_build_original()
        obj = self.stack[-1]
        if isinstance(obj, _ArrayWrapper):
            self.stack[-1] = self._read_array(obj)

    def load_build_original(self):
        pickle._Unpickler.dispatch[pickle.BUILD[0]](self)

    def _read_array(self, w: _ArrayWrapper) -> np.ndarray:
        if w.__dict__.get("numpy_array_alignment_bytes") is not None:
            pad = self.read(1)[0]
            self.read(pad)
        dtype = np.dtype(w.dtype)
        if dtype.hasobject:
            raise DatasetError("pickle holds an object array: refused")
        count = int(np.prod(w.shape))
        raw = self.read(count * dtype.itemsize)
        if len(raw) != count * dtype.itemsize:
            raise DatasetError("pickle is truncated inside an array")
        arr = np.frombuffer(raw, dtype=dtype).copy()
        return arr.reshape(w.shape, order="F" if w.order == "F" else "C")


_SafeUnpickler.dispatch[pickle.BUILD[0]] = _SafeUnpickler._load_build


def read_motion_pickle(path: Path) -> dict:
    """Parse a PHC/ASAP joblib pickle with the restricted unpickler -> {clip: {key: value}}."""
    try:
        with open(path, "rb") as fh:
            obj = _SafeUnpickler(io.BufferedReader(fh)).load()
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise DatasetError(f"{path.name}: cannot read the pickle: {exc}") from exc
    if not isinstance(obj, dict) or not obj:
        raise DatasetError(f"{path.name}: expected a dict of clips, got {type(obj).__name__}")
    return obj


def load(path: Path, kin, opts) -> Dataset:
    if not opts.trust_pickle:
        raise PickleRefusedError(
            f"{path.name} is a Python pickle: loading a pickle can run arbitrary code. Import it "
            "only if you trust its source, with --trust-pickle (it is then read with a restricted "
            "unpickler that only builds numpy arrays)."
        )
    clips = read_motion_pickle(path)
    robot = kin.spec.joint_names
    parts = []
    for name, clip in clips.items():
        if not isinstance(clip, dict):
            raise DatasetError(f"{path.name}: clip {name!r} is not a dict")
        for key in ("root_trans_offset", "root_rot", "dof"):
            if key not in clip:
                raise DatasetError(f"{path.name}: clip {name!r} lacks {key!r}")
        pos = np.asarray(clip["root_trans_offset"], dtype=np.float64)
        rot = np.asarray(clip["root_rot"], dtype=np.float64)
        dof = np.asarray(clip["dof"], dtype=np.float64)
        if dof.ndim != 2 or dof.shape[1] not in (23, 29):
            raise DatasetError(f"{path.name}: clip {name!r}: dof has shape {dof.shape}, expected (T, 23) or (T, 29)")
        if rot.ndim != 2 or rot.shape[1] != 4 or pos.shape != (len(rot), 3) or len(dof) != len(rot):
            raise DatasetError(f"{path.name}: clip {name!r}: root_trans_offset {pos.shape}, root_rot "
                               f"{rot.shape}, dof {dof.shape} do not agree")
        fps = float(clip.get("fps", opts.fps or 30))
        names = DOF23 if dof.shape[1] == 23 else DOF29
        joints = np.zeros((len(dof), len(robot)))
        for j, jn in enumerate(robot):
            joints[:, j] = dof[:, names.index(jn)] if jn in names else missing_fill(kin, jn)
        dropped = [n for n in names if n not in robot]
        missing = [n for n in robot if n not in names]
        if dropped:
            nonzero = [n for n in dropped if np.abs(dof[:, names.index(n)]).max() > 1e-6]
            if nonzero:
                log.warning("%s: %s has no joint(s) %s: their motion is dropped", path.name,
                            kin.spec.name, nonzero)
        prov = {"clip": str(name), "source_dof": int(dof.shape[1]), "missing_joints": missing,
                "dropped_joints": dropped}
        parts.append(build_clip(kin, pos, Q.xyzw_to_wxyz(rot), joints, fps, str(name), prov))
    return Dataset.concatenate(parts)
