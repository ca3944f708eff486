"""A shipped model folder from a tiny tracking run on two real Go2 clips: what it holds, its card's
numbers measured on the ONNX file, and `trirl rollout` on it as on a run folder."""

from __future__ import annotations

import pytest

from trirl_ros.cli import main as cli_main
from trirl_ros.core.export.model_dir import ship_model
from trirl_ros.core.train.run import TrainingRun
from trirl_ros.core.train.task import load_task_config
from trirl_ros.core.viz.rollout import replay


@pytest.fixture
def finished_run(tiny_task, tmp_path, mocap_dir):
    """A finished tiny tracking run on trot0 + trot1 (the run folder)."""
    dataset = {"source": str(mocap_dir / "go2" / "amp_go2_trot0.txt"), "format": "amp",
               "extra_sources": [str(mocap_dir / "go2" / "amp_go2_trot1.txt")]}
    path = tiny_task(total_steps=128, dataset=dataset)  # 4 iterations, 2 evaluations
    run = TrainingRun.create(load_task_config(path, ["algo.algorithm=tracking"]), tmp_path / "run", tensorboard=False)
    run.run()
    run.close()
    return tmp_path / "run"


def test_two_sources_are_two_clips_with_their_fingerprints(finished_run, tmp_path):
    import json

    fp = json.loads((finished_run / "dataset.json").read_text())
    assert fp["clips"] == 2 and fp["clip_names"] == ["amp_go2_trot0", "amp_go2_trot1"]
    assert fp["extra_sources"][0]["source"].endswith("amp_go2_trot1.txt")
    assert len(fp["extra_sources"][0]["source_sha256"]) == 64
    cfg = load_task_config(finished_run / "config.yaml", [f"dataset.extra_sources=[{tmp_path / 'gone.txt'}]"])
    with pytest.raises(FileNotFoundError, match="gone.txt"):
        TrainingRun.create(cfg, tmp_path / "other", tensorboard=False)
    assert not (tmp_path / "other").exists()  # nothing written before the data checks out


def test_best_checkpoint_holds_the_best_evaluation(finished_run):
    import torch

    from trirl_ros.core.train.metrics import read_csv

    evals = [r for r in read_csv(finished_run / "metrics.csv") if "eval/score" in r and r["iteration"] > 0]
    best = max(evals, key=lambda r: r["eval/score"])
    ck = torch.load(finished_run / "checkpoints" / "best.pt", weights_only=True)
    assert ck["step"] == best["step"] and ck["eval"]["score"] == pytest.approx(best["eval/score"], abs=1e-6)
    assert len(evals) >= 2


def test_model_folder_holds_the_policy_its_config_and_a_measured_card(finished_run, tmp_path):
    out = tmp_path / "models" / "go2_tiny"
    card = ship_model(finished_run, out, "CC BY-NC 4.0 (test)").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["MODEL_CARD.md", "config.yaml", "policy.onnx", "policy.yaml"]
    assert "not inverse RL" in card and "CC BY-NC 4.0 (test)" in card
    assert "trirl train --config models/go2_tiny/config.yaml" in card
    assert "Score of this ONNX file** (8 deterministic episodes of 1000 steps" in card
    assert "Shipped policy:** checkpoints/best.pt at step" in card and "the run's best evaluation" in card
    # the folder replays like a run folder, through onnxruntime, with any Go2 clip as reference
    res = replay(out, seconds=0.5)
    assert res.robot == "go2" and res.steps == 25
    assert replay(finished_run, seconds=0.5).score == pytest.approx(res.score, abs=1e-3)
    with pytest.raises(ValueError, match="name the demonstrations' license"):
        ship_model(finished_run, tmp_path / "other", " ")
    # the export check's tolerance reaches the model folder's export (trirl export --model-dir --tol)
    with pytest.raises(Exception, match="exceeds 1e-30"):
        ship_model(finished_run, tmp_path / "strict", "test", tol=1e-30)
    assert not (tmp_path / "strict").exists()  # a failed check leaves no empty folder
    # ... and leaves a model folder it would have replaced as it was, with no partial folder beside it
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(Exception, match="exceeds 1e-30"):
        ship_model(finished_run, out, "other license", tol=1e-30)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["go2_tiny"]
    # a non-default tolerance is part of the card's reproduce command; shipping again replaces the folder
    assert "--tol" not in card
    assert "--checkpoint best --tol 0.001 --data-license 'test'" in ship_model(finished_run, out, "test",
                                                                                   tol=1e-3).read_text()
    assert sorted(p.name for p in out.parent.iterdir()) == ["go2_tiny"] and "CC BY-NC" not in (out / "MODEL_CARD.md").read_text()


def test_rollout_cli_takes_a_model_folder_and_another_clip(finished_run, tmp_path, mocap_dir, capsys):
    out = tmp_path / "m"
    ship_model(finished_run, out, "test")
    capsys.readouterr()
    assert cli_main(["rollout", str(out), "--seconds", "0.4", "--dataset",
                     str(mocap_dir / "go2" / "amp_go2_pace1.txt")]) == 0
    assert "steps 20" in capsys.readouterr().out
