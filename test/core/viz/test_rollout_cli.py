"""``trirl rollout`` on a tiny run folder made by the training code path (TrainingRun on the real Go2
mocap): the summary reproduces the run's own last evaluation, and --video writes an mp4 whose
frame count and size are read back (offscreen EGL/OSMesa: installed by ``make setup``)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from trirl_ros.cli import main as trirl

TINY = {
    "name": "go2_rollout_tiny",
    "robot": "go2",
    "algo_base": "trirl",
    "total_steps": 64,
    "num_envs": 4,
    "num_threads": 1,
    "disc_terms": ["base_lin_vel", "base_ang_vel", "joint_pos", "joint_vel"],
    "eval": {"every_iters": 1, "steps": 40, "num_envs": 1},  # one env: clip 0, like the rollout
    "checkpoint_every_iters": 1,
    "export": False,
    "algo": {
        "policy": {"hidden": [16], "critic_hidden": [16]},
        "ppo": {"horizon": 8, "epochs": 1, "num_minibatches": 2},
        "disc": {"hidden": [16], "epochs": 1, "minibatch": 16},
        "trirl": {"buffer_size": 3, "rfit_hidden": [16], "rfit_epochs": 1, "rfit_minibatch": 16},
    },
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mocap_dir, robots_dir) -> Path:
    from trirl_ros.core.train.run import TrainingRun
    from trirl_ros.core.train.task import load_task_config

    tmp = tmp_path_factory.mktemp("rollout")
    data = yaml.safe_load(yaml.safe_dump(TINY))
    data["dataset"] = {"source": str(mocap_dir / "go2" / "amp_go2_trot0.txt"), "format": "amp"}
    (tmp / "task.yaml").write_text(yaml.safe_dump(data))
    run = TrainingRun.create(load_task_config(tmp / "task.yaml"), tmp / "run", tensorboard=False)
    try:
        run.run()
    finally:
        run.close()
    return tmp / "run"


def _summary(text: str) -> dict[str, str]:
    m = re.search(r"imitation score ([\d.]+).*\n.*distance ([\d.]+) m \(reference ([\d.]+) m\)\s+fell (\S+)", text)
    assert m, text
    return {"score": m.group(1), "distance": m.group(2), "ref_distance": m.group(3), "fell": m.group(4)}


def test_summary_reproduces_the_runs_last_evaluation(run_dir, capsys):
    ckpt = torch.load(run_dir / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 64 and "eval/score" in ckpt["last_eval"]
    assert trirl(["rollout", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "steps 40 (0.8 s at 50 Hz)" in out
    s = _summary(out)
    # same policy, same deterministic start (clip 0, no noise), same 40 steps: same score
    assert float(s["score"]) == pytest.approx(ckpt["last_eval"]["eval/score"], abs=6e-4)
    assert s["fell"] == "no" and ckpt["last_eval"]["eval/survival"] == 1.0


def test_replay_tracks_and_distance(run_dir):
    from trirl_ros.core.viz.rollout import replay

    res = replay(run_dir, seconds=0.5)
    assert res.steps == 25 and res.qpos.shape == res.ref_qpos.shape == (26, 19)  # Go2: 7 + 12
    assert np.allclose(res.qpos[0], res.ref_qpos[0])  # starts at the clip's first frame
    assert res.distance_m == pytest.approx(float(np.linalg.norm(res.qpos[-1, :2] - res.qpos[0, :2])))
    assert 0 < res.ref_distance_m < 2.0 * 0.5  # the trot clip moves well under 2 m/s
    with pytest.raises(ValueError, match="seconds must be > 0"):
        replay(run_dir, seconds=0)


def test_video_has_the_expected_frames(run_dir, tmp_path, capsys):
    import imageio.v2 as imageio

    video = tmp_path / "out" / "rollout.mp4"
    assert trirl(["rollout", str(run_dir), "--seconds", "1", "--video", str(video)]) == 0
    out = capsys.readouterr().out
    # 50 policy steps -> 51 states at 50 Hz, drawn every 2nd (25 fps): states 0, 2, ..., 50
    expected = math.ceil(51 / 2)
    assert f"frames {expected}" in out
    assert video.is_file() and video.stat().st_size > 0
    reader = imageio.get_reader(video)
    try:
        assert reader.count_frames() == expected
        assert reader.get_meta_data()["fps"] == pytest.approx(25.0)
        frame = reader.get_data(0)
    finally:
        reader.close()
    assert frame.shape == (240, 640, 3)
    left, right = frame[:, :320].astype(float), frame[:, 320:].astype(float)
    # both panels show the robot at the same start state: alike, and not a blank image
    assert left.std() > 10 and np.abs(left - right).mean() < 10
    assert not list(video.parent.glob(".*tmp*"))  # temporary file renamed away


def test_bad_inputs_name_the_problem(run_dir, tmp_path, capsys):
    assert trirl(["rollout", str(tmp_path / "nope")]) == 2
    assert "run folder not found" in capsys.readouterr().err
    assert trirl(["rollout", str(run_dir), "--video", str(tmp_path / "x.avi")]) == 2
    assert "must name an .mp4 file" in capsys.readouterr().err
    assert trirl(["rollout", str(run_dir), "--dataset", str(tmp_path / "missing.npz")]) == 2
    assert "dataset source not found" in capsys.readouterr().err


def test_renderer_probe_reports_failures_with_the_package_to_install():
    from trirl_ros.core.viz.gl import DEBIAN_PACKAGES, install_hint, probe

    assert probe("egl") is None  # make setup (render-deps) installs Mesa EGL
    err = probe("no_such_backend")
    assert err is not None and "no_such_backend" in err
    hint = install_hint()
    assert "libosmesa6" in hint and all(p in hint for p in DEBIAN_PACKAGES["egl"])
