"""trirl_ros.core.quat: the one quaternion convention of the stack, against hand-computed values."""

import math

import numpy as np
import pytest

from trirl_ros.core import quat as Q

S = math.sqrt(0.5)


def test_rotations_by_hand():
    roll90 = np.array([S, S, 0.0, 0.0])  # +90 deg about x: body y -> world z
    np.testing.assert_allclose(Q.rotate(roll90, [0.0, 1.0, 0.0]), [0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(Q.rotate_inv(roll90, [0.0, 0.0, -1.0]), [0.0, -1.0, 0.0], atol=1e-12)
    rng = np.random.default_rng(0)
    q, v = Q.normalize(rng.normal(size=(5, 4))), rng.normal(size=(5, 3))
    np.testing.assert_allclose(Q.rotate(q, v), np.einsum("nij,nj->ni", Q.to_matrix(q), v), atol=1e-12)
    np.testing.assert_allclose(Q.rotate_inv(q, Q.rotate(q, v)), v, atol=1e-12)
    np.testing.assert_allclose(Q.rotate_inv(q, [0.0, 0.0, 1.0]), Q.to_matrix(q)[:, 2, :], atol=1e-12)


def test_euler_angles_and_tilt_by_hand():
    yaw1 = np.array([math.cos(0.5), 0.0, 0.0, math.sin(0.5)])
    assert Q.roll_pitch_yaw(yaw1) == pytest.approx([0.0, 0.0, 1.0])
    pitch = Q.from_axis_angle([0.0, 1.0, 0.0], 0.3)
    assert Q.roll_pitch_yaw(3.0 * pitch) == pytest.approx([0.0, 0.3, 0.0])  # normalised first
    rpy = Q.roll_pitch_yaw(Q.mul(Q.from_axis_angle([0, 0, 1], 0.7),
                                 Q.mul(Q.from_axis_angle([0, 1, 0], -0.2), Q.from_axis_angle([1, 0, 0], 0.4))))
    assert rpy == pytest.approx([0.4, -0.2, 0.7])  # ZYX: R = Rz(yaw) Ry(pitch) Rx(roll)
    assert Q.tilt_cos(yaw1) == pytest.approx(1.0)  # yaw does not tilt
    assert Q.tilt_cos(np.array([0.0, 1.0, 0.0, 0.0])) == pytest.approx(-1.0)  # upside down
    assert Q.tilt_cos(2.0 * Q.from_axis_angle([1.0, 0.0, 0.0], 0.5)) == pytest.approx(math.cos(0.5))
    np.testing.assert_allclose(Q.tilt_cos(np.stack([yaw1, pitch])), [1.0, math.cos(0.3)])
