"""Quaternion helpers (numpy, scalar-first w,x,y,z unless a name says xyzw), shared by the demos
pipeline, the env's observations (:mod:`trirl_ros.core.envs.obs_spec`), the env's fall check and the
deploy side (safety tilt, LowState rpy), so every part of the stack uses one convention:
``q`` is the orientation of a body in the world, ``v_world = R(q) @ v_body``.

All functions are batched over leading dimensions: ``q`` has shape (..., 4).
"""

from __future__ import annotations

import numpy as np


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    """(..., 4) x,y,z,w -> (..., 4) w,x,y,z."""
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([q[..., 3:4], q[..., 0:3]], axis=-1)


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    """(..., 4) w,x,y,z -> (..., 4) x,y,z,w."""
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([q[..., 1:4], q[..., 0:1]], axis=-1)


def normalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4)."""
    q = np.asarray(q, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a*b of (..., 4) w,x,y,z quaternions."""
    aw, ax, ay, az = np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0)
    bw, bx, by, bz = np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def conj(q: np.ndarray) -> np.ndarray:
    """Conjugate (inverse of a unit quaternion), (..., 4)."""
    q = np.asarray(q, dtype=np.float64)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def from_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation of ``angle`` (...,) rad about unit ``axis`` (3,) or (..., 3) -> (..., 4)."""
    angle = np.asarray(angle, dtype=np.float64)
    axis = np.broadcast_to(np.asarray(axis, dtype=np.float64), angle.shape + (3,))
    half = 0.5 * angle
    return np.concatenate([np.cos(half)[..., None], np.sin(half)[..., None] * axis], axis=-1)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b for (..., 3) arrays, written out (np.cross is slow on small batches)."""
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                     a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4) (body -> world): R(q) v."""
    return rotate_inv(conj(q), v)


def rotate_inv(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate world vectors v (..., 3) into the frame of unit quaternions q (..., 4) (world -> body):
    R(q)^T v = v (2 w^2 - 1) - 2 w (u x v) + 2 u (u . v), u = (x, y, z)."""
    q = np.asarray(q, dtype=np.float64)
    w, u = q[..., :1], q[..., 1:]
    v = np.broadcast_to(np.asarray(v, dtype=np.float64), np.broadcast_shapes(u.shape, np.shape(v)))
    return v * (2 * w * w - 1) - 2 * w * _cross(u, v) + 2 * u * np.sum(u * v, axis=-1, keepdims=True)


def roll_pitch_yaw(q: np.ndarray) -> np.ndarray:
    """(..., 3) roll, pitch, yaw [rad] of the ZYX (yaw-pitch-roll) Euler angles of q (..., 4)
    (normalised first)."""
    w, x, y, z = np.moveaxis(normalize(q), -1, 0)
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw_ = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.stack([roll, pitch, yaw_], axis=-1)


def tilt_cos(q: np.ndarray) -> np.ndarray:
    """(...,) cosine of the angle between the body z axis and world z, for q (..., 4) of any
    non-zero norm: ``1 - 2 (x^2 + y^2) / |q|^2`` (1 upright, -1 upside down)."""
    q = np.asarray(q, dtype=np.float64)
    norm2 = np.sum(q * q, axis=-1)
    return 1 - 2 * (q[..., 1] ** 2 + q[..., 2] ** 2) / np.where(norm2 > 0, norm2, 1)


def to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) -> rotation matrices (..., 3, 3)."""
    q = normalize(q)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) with w >= 0."""
    m = np.asarray(m, dtype=np.float64)
    shape = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    out = np.empty((m.shape[0], 4))
    for i, r in enumerate(m):
        tr = r[0, 0] + r[1, 1] + r[2, 2]
        if tr > 0:
            s = 2.0 * np.sqrt(tr + 1.0)
            out[i] = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
        elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
            s = 2.0 * np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
            out[i] = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
        elif r[1, 1] > r[2, 2]:
            s = 2.0 * np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
            out[i] = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
        else:
            s = 2.0 * np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
            out[i] = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    out = normalize(out)
    out[out[:, 0] < 0] *= -1
    return out.reshape(shape + (4,))


def make_continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 of (T, 4) so consecutive quaternions lie in the same hemisphere."""
    q = np.array(q, dtype=np.float64, copy=True)
    for t in range(1, len(q)):
        if np.dot(q[t - 1], q[t]) < 0:
            q[t] = -q[t]
    return q


def slerp(q0: np.ndarray, q1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions q0, q1 (..., 4) at fractions s (...,)."""
    q0 = normalize(q0)
    q1 = normalize(q1)
    s = np.asarray(s, dtype=np.float64)[..., None]
    d = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(d < 0, -q1, q1)
    d = np.abs(d)
    theta = np.arccos(np.clip(d, -1.0, 1.0))
    sin_t = np.sin(theta)
    small = sin_t < 1e-6
    safe = np.where(small, 1.0, sin_t)
    w0 = np.where(small, 1.0 - s, np.sin((1.0 - s) * theta) / safe)
    w1 = np.where(small, s, np.sin(s * theta) / safe)
    return normalize(w0 * q0 + w1 * q1)


def interp(t_src: np.ndarray, q_src: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    """Slerp-interpolate a quaternion track q_src (T, 4) at times t_src (T,) to t_new (M,) -> (M, 4).

    Times outside [t_src[0], t_src[-1]] are clamped to the ends.
    """
    t_src = np.asarray(t_src, dtype=np.float64)
    t_new = np.clip(np.asarray(t_new, dtype=np.float64), t_src[0], t_src[-1])
    if len(t_src) == 1:
        return np.repeat(normalize(q_src[:1]), len(t_new), axis=0)
    idx = np.clip(np.searchsorted(t_src, t_new, side="right") - 1, 0, len(t_src) - 2)
    span = t_src[idx + 1] - t_src[idx]
    s = np.where(span > 0, (t_new - t_src[idx]) / np.where(span > 0, span, 1.0), 0.0)
    return slerp(q_src[idx], q_src[idx + 1], s)


def yaw(q: np.ndarray) -> np.ndarray:
    """Heading angle (...,) rad of w,x,y,z quaternions (rotation of the body x axis about world z)."""
    w, x, y, z = np.moveaxis(np.asarray(q, dtype=np.float64), -1, 0)
    return np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
