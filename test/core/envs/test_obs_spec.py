"""ObsSpec / compute_frame / ObsHistory with hand-computed expectations."""

import math

import numpy as np
import pytest

from trirl_ros.core.config import ConfigError, from_dict
from trirl_ros.core.envs.obs_spec import ObsHistory, ObsSpec, ObsTerm, RobotState, compute_frame
from trirl_ros.core.robots.spec import load_robot_spec


def _state(n, j, quat=(1.0, 0.0, 0.0, 0.0)):
    return RobotState(
        joint_pos=np.zeros((n, j)), joint_vel=np.zeros((n, j)), base_quat=np.tile(quat, (n, 1)),
        base_ang_vel=np.zeros((n, 3)), base_lin_vel=np.zeros((n, 3)), last_action=np.zeros((n, j)),
        command=np.zeros((n, 3)))


def test_go2_paper_obs_is_42_dim():
    spec = ObsSpec(terms=tuple(ObsTerm(n) for n in
                               ("base_lin_vel", "base_ang_vel", "joint_pos", "joint_vel", "last_action")))
    assert spec.term_dims(12) == [3, 3, 12, 12, 12] and spec.dim(12) == 42
    assert ObsSpec(terms=spec.terms, history=5).dim(12) == 210


def test_from_yaml_dict_and_validation():
    spec = from_dict(ObsSpec, {"terms": [{"name": "base_ang_vel", "scale": 0.25}, {"name": "joint_vel", "clip": 5.0}],
                               "history": 3})
    assert spec.terms[0].scale == 0.25 and spec.terms[1].clip == 5.0 and spec.history == 3
    with pytest.raises(ConfigError, match="unknown observation term 'foot_contact'"):
        from_dict(ObsSpec, {"terms": [{"name": "foot_contact"}]})
    with pytest.raises(ValueError, match="more than once"):
        ObsSpec(terms=(ObsTerm("joint_vel"), ObsTerm("joint_vel")))


def test_compute_frame_hand_values():
    go2 = load_robot_spec("go2")
    spec = ObsSpec(terms=(ObsTerm("projected_gravity"), ObsTerm("base_roll_pitch"),
                          ObsTerm("joint_pos", scale=2.0), ObsTerm("base_ang_vel", scale=0.25, clip=0.5)))
    # base rolled +90 deg about x: gravity (0,0,-1) in world appears as (0,-1,0) in the base frame
    s = math.sqrt(0.5)
    state = _state(2, 12, quat=(s, s, 0.0, 0.0))
    state.joint_pos = np.tile(go2.default_pos, (2, 1))
    state.joint_pos[1, 0] += 0.1
    state.base_ang_vel[:] = [1.0, 4.0, -4.0]
    frame = compute_frame(spec, go2, state)
    assert frame.shape == (2, 3 + 2 + 12 + 3) and frame.dtype == np.float32
    np.testing.assert_allclose(frame[0, :3], [0.0, -1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(frame[0, 3:5], [math.pi / 2, 0.0], atol=1e-6)
    np.testing.assert_allclose(frame[1, 5], 0.2, atol=1e-6)  # (q - default) * 2
    np.testing.assert_allclose(frame[0, 6:17], 0.0)
    np.testing.assert_allclose(frame[0, 17:], [0.25, 0.5, -0.5])  # scaled then clipped


def test_compute_frame_rejects_bad_input():
    go2 = load_robot_spec("go2")
    spec = ObsSpec(terms=(ObsTerm("base_lin_vel"), ObsTerm("joint_pos")))
    state = _state(1, 12)
    state.base_lin_vel[:] = np.nan
    with pytest.raises(ValueError, match="term 'base_lin_vel' is not finite"):
        compute_frame(spec, go2, state)
    state = _state(1, 11)
    with pytest.raises(ValueError, match=r"joint_pos has shape \(1, 11\), expected \(1, 12\)"):
        compute_frame(ObsSpec(terms=(ObsTerm("joint_pos"),)), go2, state)
    # NaN in an unused term is fine
    state = _state(1, 12)
    state.base_lin_vel[:] = np.nan
    compute_frame(ObsSpec(terms=(ObsTerm("joint_vel"),)), go2, state)


def test_history_newest_first_and_reset():
    h = ObsHistory(num_envs=2, frame_dim=2, history=3)
    out = h.push(np.array([[1, 1], [2, 2]], dtype=np.float32))
    np.testing.assert_array_equal(out, [[1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2]])  # filled on first push
    out = h.push(np.array([[3, 3], [4, 4]], dtype=np.float32))
    np.testing.assert_array_equal(out[0], [3, 3, 1, 1, 1, 1])
    h.reset(np.array([False, True]))
    out = h.push(np.array([[5, 5], [6, 6]], dtype=np.float32))
    np.testing.assert_array_equal(out, [[5, 5, 3, 3, 1, 1], [6, 6, 6, 6, 6, 6]])
    with pytest.raises(ValueError, match="expected \\(2, 2\\)"):
        h.push(np.zeros((2, 3)))
