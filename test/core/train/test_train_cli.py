"""`trirl train` through the CLI: smoke run, SIGKILL + resume, and bad configs rejected up front."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from trirl_ros.cli import main as cli_main
from trirl_ros.core.train.metrics import read_csv

REPO = Path(__file__).resolve().parents[3]


def _trirl(*args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "trirl_ros.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_smoke_run_writes_metrics_checkpoint_and_onnx(tiny_task, tmp_path):
    run_dir = tmp_path / "run"
    p = _trirl("train", "--config", str(tiny_task()), "--run-dir", str(run_dir), "--set", "total_steps=96")
    out, err = p.communicate(timeout=240)
    assert p.returncode == 0, err
    last = out.strip().splitlines()[-1]
    m = re.fullmatch(r"run_dir (\S+) score ([0-9.]+)", last)
    assert m and Path(m.group(1)) == run_dir, last
    rows = read_csv(run_dir / "metrics.csv")
    assert [r["step"] for r in rows] == [0, 32, 64, 96]  # row 0: untrained score; 4 envs x 8 steps
    assert float(m.group(2)) == pytest.approx(rows[-1]["eval/score"], abs=1e-4)  # printed to 4 places
    assert 0.0 <= rows[-1]["eval/score"] <= 1.0
    ck = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)
    assert ck["step"] == 96 and ck["iteration"] == 3
    assert (run_dir / "policy.onnx").stat().st_size > 0 and (run_dir / "policy.yaml").is_file()
    assert (run_dir / "reward.pt").is_file() and list((run_dir / "tb").glob("events.out.tfevents.*"))
    import json

    fp = json.loads((run_dir / "dataset.json").read_text())
    assert len(fp["source_sha256"]) == 64 and fp["robot"] == "go2"
    import onnxruntime as ort

    sess = ort.InferenceSession(str(run_dir / "policy.onnx"), providers=["CPUExecutionProvider"])
    act = sess.run(["action"], {"obs": np.zeros((1, 42), np.float32)})[0]
    assert act.shape == (1, 12)
    # plot
    assert cli_main(["plot", str(run_dir)]) == 0
    assert (run_dir / "curves.png").stat().st_size > 1000


def test_sigkill_then_resume_continues_at_the_checkpoint(tiny_task, tmp_path):
    run_dir = tmp_path / "run"
    total = 32 * 40
    cfg = tiny_task(total_steps=total, eval={"every_iters": 5, "steps": 20, "num_envs": 1})
    p = _trirl("train", "--config", str(cfg), "--run-dir", str(run_dir))
    ckpt = run_dir / "checkpoints" / "latest.pt"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and p.poll() is None:
            if ckpt.is_file() and torch.load(ckpt, weights_only=True)["iteration"] >= 3:
                break
            time.sleep(0.05)
        assert p.poll() is None, "the run ended before it could be killed"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == -signal.SIGKILL
    killed_at = torch.load(ckpt, weights_only=True)["step"]
    assert 0 < killed_at < total
    config_before = (run_dir / "config.yaml").read_bytes()

    r = _trirl("train", "--resume", str(run_dir))
    out, err = r.communicate(timeout=240)
    assert r.returncode == 0, err
    assert f"resumed at step {killed_at}" in out
    assert (run_dir / "config.yaml").read_bytes() == config_before
    rows = read_csv(run_dir / "metrics.csv")
    steps = [int(r["step"]) for r in rows]
    assert steps == list(range(0, total + 1, 32))  # continuous: no gap, no duplicate
    its = [int(r["iteration"]) for r in rows]
    assert its == list(range(0, total // 32 + 1))
    assert torch.load(ckpt, weights_only=True)["step"] == total
    walls = [r["wall_s"] for r in rows]
    assert all(b >= a for a, b in zip(walls, walls[1:]))  # wall clock continues too
    assert out.strip().splitlines()[-1].startswith(f"run_dir {run_dir} score ")


def _fails_before_training(capsys, run_dir: Path, *args: str) -> str:
    rc = cli_main(["train", *args, "--run-dir", str(run_dir)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert not run_dir.exists()  # nothing created: rejected before training starts
    return err


def test_unknown_key_is_rejected(tiny_task, tmp_path, capsys):
    err = _fails_before_training(capsys, tmp_path / "r", "--config", str(tiny_task(warp_speed=9)))
    assert "warp_speed" in err
    err = _fails_before_training(capsys, tmp_path / "r", "--config", str(tiny_task()), "--set", "algo.ppo.nope=1")
    assert "nope" in err


def test_missing_dataset_is_rejected(tiny_task, tmp_path, capsys):
    cfg = tiny_task(dataset={"source": str(tmp_path / "no_such_mocap.txt")})
    err = _fails_before_training(capsys, tmp_path / "r", "--config", str(cfg))
    assert "dataset source not found" in err and "no_such_mocap.txt" in err


def test_dataset_for_another_robot_is_rejected(tiny_task, tmp_path, capsys, mocap_dir):
    g1 = tmp_path / "g1.npz"
    assert cli_main(["demos", "import", str(mocap_dir / "g1" / "locomujoco_g1_walk_constspeed.npz"),
                     "--robot", "g1_29dof", "-o", str(g1)]) == 0
    capsys.readouterr()
    err = _fails_before_training(capsys, tmp_path / "r", "--config", str(tiny_task(dataset={"source": str(g1)})))
    assert re.search(r"dataset robot 'g1_29dof' differs from the config robot 'go2'", err), err


def test_unresampleable_mocap_frequency_is_rejected(tiny_task, tmp_path, capsys, mocap_dir):
    from trirl_ros.core.demos.dataset import Dataset
    from trirl_ros.core.train.data import DatasetMismatchError

    src = tmp_path / "go2.npz"
    assert cli_main(["demos", "import", str(mocap_dir / "go2" / "amp_go2_trot0.txt"), "--robot", "go2",
                     "-o", str(src)]) == 0
    ds = Dataset.load(src)
    slow = tmp_path / "go2_5hz.npz"
    Dataset(ds.robot, ds.joint_names, 5.0, ds.qpos, ds.qvel, ds.split_points, ds.provenance).save(slow)
    capsys.readouterr()
    err = _fails_before_training(capsys, tmp_path / "r", "--config", str(tiny_task(dataset={"source": str(slow)})))
    assert "mocap frequency 5 Hz cannot be resampled to the policy rate 50 Hz" in err
    # the library raises the same, as a DatasetError subclass
    from trirl_ros.core.robots.spec import load_robot_spec
    from trirl_ros.core.train.data import to_policy_rate

    with pytest.raises(DatasetMismatchError, match="mocap frequency 5 Hz"):
        to_policy_rate(Dataset.load(slow), load_robot_spec("go2"))


def test_sigint_finishes_the_iteration_and_checkpoints(tiny_task, tmp_path):
    run_dir = tmp_path / "run"
    cfg = tiny_task(total_steps=32 * 400, checkpoint_every_iters=1000)  # no scheduled checkpoint
    p = _trirl("train", "--config", str(cfg), "--run-dir", str(run_dir))
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(read_csv(run_dir / "metrics.csv")) < 3:
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert "stopped (continue with: trirl train --resume" in out
    ck = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)
    rows = read_csv(run_dir / "metrics.csv")
    assert ck["step"] == rows[-1]["step"] and ck["step"] % 32 == 0 and 0 < ck["step"] < 32 * 400
    assert not (run_dir / "policy.onnx").exists()  # not finished: no export
