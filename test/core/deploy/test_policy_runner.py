"""PolicyRunner against an ONNX graph written here with onnx.helper (y = W x + b)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from trirl_ros.core.deploy.policy_runner import PolicyRunner


def _linear_onnx(path, w, b, in_name="obs", out_name="action"):
    d, a = w.shape[1], w.shape[0]
    graph = helper.make_graph(
        [helper.make_node("Gemm", [in_name, "W", "B"], [out_name], transB=1)], "linear",
        [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, ["batch", d])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["batch", a])],
        [numpy_helper.from_array(w.astype(np.float32), "W"), numpy_helper.from_array(b.astype(np.float32), "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, path)


def test_runner_matches_hand_computation(tmp_path):
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 5)), rng.standard_normal(3)
    _linear_onnx(tmp_path / "p.onnx", w, b)
    runner = PolicyRunner(tmp_path / "p.onnx", 5, 3)
    for _ in range(3):
        x = rng.standard_normal(5).astype(np.float32)
        np.testing.assert_allclose(runner.run(x), w @ x + b, rtol=1e-5, atol=1e-5)
    first = runner.run(np.ones(5, np.float32))
    assert first.base is not None  # a view of the preallocated output buffer
    with pytest.raises(ValueError, match="observation has 4 values, the policy expects 5"):
        runner.run(np.ones(4))


def test_runner_rejects_mismatched_graphs(tmp_path):
    _linear_onnx(tmp_path / "p.onnx", np.ones((3, 5)), np.zeros(3))
    with pytest.raises(ValueError, match="graph input width is 5, the policy spec says 6"):
        PolicyRunner(tmp_path / "p.onnx", 6, 3)
    with pytest.raises(ValueError, match="graph has no input 'observations'"):
        PolicyRunner(tmp_path / "p.onnx", 5, 3, input_name="observations")
    with pytest.raises(FileNotFoundError, match="ONNX policy not found"):
        PolicyRunner(tmp_path / "nope.onnx", 5, 3)
    (tmp_path / "junk.onnx").write_bytes(b"not a graph")
    with pytest.raises(ValueError, match="cannot load ONNX policy"):
        PolicyRunner(tmp_path / "junk.onnx", 5, 3)
