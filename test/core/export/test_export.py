"""ONNX export: verified against torch, normaliser inside the graph, atomic, run-folder loading."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import yaml
from onnx import numpy_helper

from trirl_ros.core.deploy.policy_spec import load_policy_spec
from trirl_ros.core.export.onnx_export import OPSET, ExportVerificationError, export_policy
from trirl_ros.core.export.policy_modules import make_policy, mean_action_graph
from trirl_ros.core.export.run_dir import RunDirError, default_obs_spec, load_run
from trirl_ros.core.robots.spec import load_robot_spec


@pytest.fixture(scope="module")
def go2():
    return load_robot_spec("go2")


def test_export_puts_the_normaliser_inside_and_writes_the_spec(tmp_path, go2):
    obs = default_obs_spec(go2)
    d, j = obs.dim(go2.num_joints), go2.num_joints
    policy = make_policy("untrained", d, j, hidden=(64, 32), seed=3)
    with torch.no_grad():  # non-trivial statistics, so a missing normaliser would show
        policy.normalizer.mean.copy_(torch.linspace(-2, 2, d))
        policy.normalizer.var.copy_(torch.linspace(0.5, 9, d))
    graph = mean_action_graph(policy)
    result = export_policy(graph.normalizer, graph.actor, go2, obs, tmp_path / "go2.onnx", fingerprint="test")
    assert result.max_abs_diff <= 1e-5 and result.n_verify == 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go2.onnx", "go2.yaml"]

    model = onnx.load(str(tmp_path / "go2.onnx"))
    assert [i.name for i in model.graph.input] == ["obs"] and [o.name for o in model.graph.output] == ["action"]
    assert {o.domain: o.version for o in model.opset_import}[""] == OPSET
    x = np.random.default_rng(1).standard_normal((5, d)).astype(np.float32) * 2
    got = ort.InferenceSession(str(tmp_path / "go2.onnx"), providers=["CPUExecutionProvider"]).run(
        ["action"], {"obs": x})[0]
    mean, var = np.linspace(-2, 2, d), np.linspace(0.5, 9, d)
    by_hand = np.clip((x - mean) / np.sqrt(var + 1e-8), -10, 10).astype(np.float32)
    with torch.no_grad():
        want = policy.actor(torch.from_numpy(by_hand)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(want).max() > 1e-4  # an all-zero policy would make this test vacuous

    spec = load_policy_spec(tmp_path / "go2.yaml")
    assert spec.robot == "go2" and spec.joint_names == go2.joint_names
    assert spec.default_pos == tuple(go2.default_pos) and spec.kp == tuple(go2.kp)
    assert spec.action_scale == tuple(go2.action_scale) and spec.control_hz == 50.0
    assert spec.obs == obs and spec.opset == OPSET and spec.fingerprint == "test"


def test_corrupted_graph_fails_and_writes_nothing(tmp_path, go2):
    obs = default_obs_spec(go2)
    policy = make_policy("untrained", obs.dim(12), 12, hidden=(32,), seed=0)
    graph = mean_action_graph(policy)

    def corrupt(model):  # perturb the largest weight tensor slightly
        init = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
        arr = numpy_helper.to_array(init).copy()
        arr.flat[0] += 0.5
        init.CopyFrom(numpy_helper.from_array(arr, init.name))
        return model

    out = tmp_path / "models"
    with pytest.raises(ExportVerificationError, match="exceeds 1e-05 on 1000 random observations"):
        export_policy(graph.normalizer, graph.actor, go2, obs, out / "bad.onnx", graph_hook=corrupt)
    assert list(out.iterdir()) == []  # no .onnx, no .yaml, no temp folder


def test_dimension_mismatch_is_refused(tmp_path, go2):
    obs = default_obs_spec(go2)
    policy = make_policy("pd-stand", obs.dim(12) + 1, 12, hidden=(8,))
    graph = mean_action_graph(policy)
    with pytest.raises(ValueError, match="policy does not accept observations of width 42"):
        export_policy(graph.normalizer, graph.actor, go2, obs, tmp_path / "x.onnx")
    assert list(tmp_path.iterdir()) == []


def test_export_from_a_run_folder(tmp_path, go2):
    obs = default_obs_spec(go2)
    policy = make_policy("untrained", obs.dim(12), 12, hidden=(48, 24), seed=5)
    policy.normalizer.update(torch.randn(200, obs.dim(12)) * 3 + 1)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(
        {"robot": "go2", "obs": {"terms": [{"name": t.name, "scale": t.scale} for t in obs.terms]},
         "policy": {"normalize_obs": True}, "seed": 1}))
    torch.save({"policy": policy.state_dict(), "step": 1234}, run / "checkpoints" / "latest.pt")
    loaded = load_run(run)
    assert loaded.robot.name == "go2" and loaded.obs == obs
    assert "checkpoint_sha256=" in loaded.fingerprint and "step=1234" in loaded.fingerprint
    x = torch.randn(7, obs.dim(12))
    with torch.no_grad():
        np.testing.assert_allclose(mean_action_graph(loaded.policy)(x), mean_action_graph(policy)(x))
    assert loaded.action_clip is None

    # a run whose env clipped actions exports a spec that clips them the same way on deploy
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**cfg, "env": {"action_clip": 2.5}}))
    clipped = load_run(run)
    assert clipped.action_clip == 2.5
    graph = mean_action_graph(clipped.policy)
    res = export_policy(graph.normalizer, graph.actor, clipped.robot, clipped.obs,
                        tmp_path / "clipped.onnx", action_clip=clipped.action_clip, n_verify=50)
    assert load_policy_spec(res.spec_path).action_clip == 2.5
    (run / "config.yaml").write_text(yaml.safe_dump({**cfg, "env": {"action_clip": -1}}))
    with pytest.raises(RunDirError, match="action_clip must be a positive number"):
        load_run(run)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))

    (run / "checkpoints" / "latest.pt").unlink()
    with pytest.raises(RunDirError, match="missing checkpoints/latest.pt"):
        load_run(run)
