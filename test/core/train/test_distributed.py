"""Data-parallel training (torchrun, gloo on CPU): two ranks stay identical, resume, and the CLI runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from trirl_ros.core.train.metrics import read_csv

WORKER = Path(__file__).with_name("distributed_worker.py")  # one rank of the library-level test
LEARNER_COLUMNS = ("losses/policy", "losses/value", "disc/loss", "disc/accuracy", "tr/eta", "reward/rfit_mse")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_env(rank: int, world: int, port: int) -> dict:
    return {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}


def test_two_ranks_keep_identical_learners_and_resume(tiny_task, tmp_path):
    # checkpoints every iteration: the run itself compares the ranks' learner states each time
    task = tiny_task(total_steps=10_000, eval={"every_iters": 2, "steps": 10, "num_envs": 1})
    run_dir, out = tmp_path / "run", tmp_path / "out"
    out.mkdir()
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(r), str(task), str(run_dir), str(out)],
                              env={**os.environ, **_rank_env(r, 2, port)}, stderr=subprocess.PIPE, text=True)
             for r in (0, 1)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    r0, r1 = (json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["first"] == r1["first"] and r0["second"] == r1["second"]
    steps_per_iter = 2 * 4 * 8  # ranks x envs x horizon
    assert r0["steps_first"] == r1["steps_first"] == 3 * steps_per_iter
    assert r0["resumed_at"] == r1["resumed_at"] == 3 * steps_per_iter
    assert r0["steps_second"] == 5 * steps_per_iter
    assert r0["check_same"] and r1["check_same"]
    assert not r0["check_different"] and not r1["check_different"]
    # rank 0 writes the run folder; rank 1 logs its own rows, whose learner metrics equal rank 0's
    # (same gathered batch) while its envs differ
    main, other = read_csv(run_dir / "metrics.csv"), read_csv(run_dir / "ranks" / "rank1" / "metrics.csv")
    assert (run_dir / "checkpoints" / "latest.pt").is_file() and not (run_dir / "ranks" / "rank1" / "checkpoints").exists()
    train0 = [r for r in main if r.get("iteration", 0) > 0 and "losses/policy" in r]
    train1 = [r for r in other if "losses/policy" in r]
    assert len(train0) == len(train1) == 5
    for a, b in zip(train0, train1):
        for col in LEARNER_COLUMNS:
            assert a[col] == b[col], col
    assert any("eval/score" in r for r in main) and not any("eval/score" in r for r in other)


def test_torchrun_cli_trains_on_two_ranks(tiny_task, tmp_path, repo_dir):
    task = tiny_task(total_steps=128)
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", str(_free_port()), "-m", "trirl_ros.cli", "train", "--config",
                           str(task), "--run-dir", str(run_dir), "--no-progress"],
                          cwd=repo_dir, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # one rank prints; 128 steps at 2 x 4 envs x 8 steps = 64 per iteration: 2 iterations
    assert proc.stdout.count("run_dir ") == 2, proc.stdout
    assert f"run_dir {run_dir} score " in proc.stdout
    assert "finished: 128 steps in 2 iterations" in proc.stdout
    assert (run_dir / "policy.onnx").is_file()


def test_data_parallel_needs_torchrun_variables(monkeypatch):
    from trirl_ros.core.train import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(RuntimeError, match="MASTER_ADDR is not set: start data-parallel runs with torchrun"):
        distributed.from_environment("cpu")
