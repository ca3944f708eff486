"""A shipped model folder (``models/<name>/``) made from a finished training run.

Layout::

    policy.onnx, policy.yaml   the deterministic policy (normaliser inside) and its deploy spec
    config.yaml                the run's resolved task config: ``trirl train --config`` on it
                               retrains the model, ``trirl rollout`` replays it
    reward.pt                  the learned reward (reward learners only; the tracking baseline
                               reads the reference instead and ships none)
    MODEL_CARD.md              data and license, algorithm, budget, seed, scores, the commands

No checkpoint is copied: the folder stays a few MB. The scores on the card are measured here, on
the exported ONNX graph through onnxruntime (:func:`evaluate_onnx`), not copied from training.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import torch

from trirl_ros.core.export.onnx_export import DEFAULT_TOL, export_policy

log = logging.getLogger(__name__)

NOT_IRL = ("the tracking baseline (PPO on a reward computed from the reference frame each env is at; "
           "not inverse RL: it reads the demonstration, it does not learn a reward)")


def load_policy_fn(run_dir: Path, task):
    """(robot, obs (1, D) -> action (1, A)) of a run folder (its checkpoint) or of a model folder
    (policy.onnx + policy.yaml on onnxruntime, when there is no checkpoint). ``task``: the
    folder's config.yaml, whose observation and joint order the ONNX spec must match."""
    from trirl_ros.core.export.run_dir import CHECKPOINT, load_run

    onnx = run_dir / "policy.onnx"
    if (run_dir / CHECKPOINT).is_file() or not onnx.is_file():
        loaded = load_run(run_dir)  # policy + robot + obs spec, validated against each other
        mean_policy = loaded.policy.export_module().eval()

        def act(obs: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return mean_policy(torch.as_tensor(obs, dtype=torch.float32)).numpy()

        return loaded.robot, act
    from trirl_ros.core.deploy.policy_runner import PolicyRunner
    from trirl_ros.core.deploy.policy_spec import load_policy_spec, spec_path_for
    from trirl_ros.core.robots.spec import load_robot_spec

    spec = load_policy_spec(spec_path_for(onnx))
    robot = load_robot_spec(task.robot)
    spec.check_robot(robot)
    if spec.obs != task.env.obs or tuple(spec.joint_names) != tuple(robot.joint_names):
        raise ValueError(f"{onnx}: its spec's observation / joint order differs from {run_dir / 'config.yaml'}")
    runner = PolicyRunner(onnx, spec.obs_dim, spec.num_joints, spec.onnx_input, spec.onnx_output)
    return robot, lambda obs: runner.run(obs)[None].copy()


def evaluate_onnx(model_dir: Path, task, episodes: int = 8, steps: int = 1000, dataset=None,
                  every_frame: bool = False):
    """EvalResult of ``model_dir``'s policy (a model folder's ONNX on onnxruntime, one observation
    at a time through the deploy runner; a run folder's checkpoint) on ``episodes`` episodes of
    ``steps`` steps of the run's own reference, or of ``dataset`` (a prepared Dataset) when given,
    started as the task's evaluation starts (``eval.init``); a command-following task's episodes are
    commanded and scored as in training (:func:`~trirl_ros.core.train.evaluation.eval_commands`).
    ``every_frame``: instead, one episode from each demonstration frame (``episodes`` ignored).
    ``task``: the folder's config.yaml."""
    from trirl_ros.core.train import evaluation as ev
    from trirl_ros.core.train.data import prepare_dataset
    from trirl_ros.core.train.reference import ReferenceMotion

    robot, policy = load_policy_fn(model_dir, task)
    ds = prepare_dataset(task.dataset, robot).policy_rate if dataset is None else dataset
    episodes = len(ds.qpos) if every_frame else episodes  # ds.qpos: (frames, 7 + J)
    env = ev.eval_env(robot, task.env, steps, num_envs=episodes, seed=task.seed)
    try:
        ref = ReferenceMotion(ds, robot, env.model, env.default_qpos)
        act = lambda obs: np.concatenate([policy(o[None]) for o in obs])  # noqa: E731
        if every_frame:
            return ev.imitation_score(env, act, ref, steps, init="reference", starts=ev.every_frame(ref))
        return ev.imitation_score(env, act, ref, steps, task.eval.init, ev.eval_commands(task.env, episodes))
    finally:
        env.close()


def sim2sim_check(model_dir: Path, robot, seconds: float = 10.0, commanded: bool = False) -> str:
    """The deploy stack on the ONNX file (``config/deploy/sim2sim.yaml``: ramp 2 s, hold 1 s, then
    the policy) for ``robot`` (RobotSpec): 'state POLICY fell 0 distance 7.413' (distance in m over
    ``seconds``). A policy that observes base_lin_vel gets the deploy estimator's, as on the robot.
    ``commanded``: a command-following policy: the walking check instead (20 s at 0.3, 0.5 and
    1.0 m/s, :func:`~trirl_ros.core.deploy.sim2sim.walking_check`), one summary per command."""
    from trirl_ros.core.config import config_path
    from trirl_ros.core.deploy.config import load_deploy_config
    from trirl_ros.core.deploy.sim2sim import load_policy, run_sim2sim, walking_check

    spec, runner = load_policy(robot, model_dir / "policy.onnx")
    cfg = load_deploy_config(config_path("deploy", "sim2sim.yaml"))
    if commanded:
        return "; ".join(f"{vx:g} m/s: {res.summary()} speed {res.policy_speed:.2f} "
                         f"turned {res.policy_turn_deg:.0f} deg"
                         for vx, res in walking_check(robot, spec, runner.run, cfg))
    return run_sim2sim(robot, spec, runner.run, cfg, seconds, lin_vel="estimate").summary()


def ship_model(run_dir: str | Path, out_dir: str | Path, data_license: str, note: str = "",
               checkpoint: str = "best", tol: float = DEFAULT_TOL) -> Path:
    """Write the model folder ``out_dir`` from the finished run ``run_dir`` (see module doc);
    returns the card's path. ``data_license`` names the demonstrations' license for the card;
    ``note`` adds a paragraph; ``checkpoint``: 'best' (the policy of the run's best evaluation,
    ``checkpoints/best.pt``) or 'latest' (the end of training); ``tol``: the largest |onnxruntime -
    torch| action difference accepted on the export check.

    The folder is written and checked beside ``out_dir`` (``<name>.partial``) and moved into place
    only once every check passed: a failure leaves an existing model folder as it was and no
    partial one behind."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if not data_license.strip():
        raise ValueError("ship_model: name the demonstrations' license (data_license)")
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed earlier call
    try:
        _write_model_folder(run_dir, staging, out_dir.name, data_license, note, checkpoint, tol)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = out_dir.with_name(out_dir.name + ".old")
    if out_dir.exists():
        shutil.rmtree(old, ignore_errors=True)
        out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return out_dir / "MODEL_CARD.md"


def _write_model_folder(run_dir: Path, out_dir: Path, name: str, data_license: str, note: str,
                        checkpoint: str, tol: float) -> None:
    """ship_model's work: the folder's files written into ``out_dir``, its card naming ``models/<name>``."""
    from trirl_ros.core.export.policy_modules import mean_action_graph
    from trirl_ros.core.export.run_dir import load_run
    from trirl_ros.core.train.metrics import read_csv
    from trirl_ros.core.train.task import load_task_config

    task = load_task_config(run_dir / "config.yaml")
    loaded = load_run(run_dir, checkpoint)
    graph = mean_action_graph(loaded.policy)
    export_policy(graph.normalizer, graph.actor, loaded.robot, loaded.obs, out_dir / "policy.onnx",
                  fingerprint=loaded.fingerprint, seed=task.seed, tol=tol, action_clip=loaded.action_clip)
    shutil.copyfile(run_dir / "config.yaml", out_dir / "config.yaml")
    if task.algo.algorithm not in ("tracking", "ppo") and (run_dir / "reward.pt").is_file():
        shutil.copyfile(run_dir / "reward.pt", out_dir / "reward.pt")
    rows = read_csv(run_dir / "metrics.csv")
    last = rows[-1]
    evals = [r for r in rows if "eval/score" in r]
    data = json.loads((run_dir / "dataset.json").read_text())
    episodes, steps = 8, 1000
    ev = evaluate_onnx(out_dir, task, episodes, steps)
    commanded = task.env.command_ranges is not None
    deploy = sim2sim_check(out_dir, loaded.robot, commanded=commanded)
    lin_vel_note = ("; base_lin_vel from the deploy estimator"
                    if any(t.name == "base_lin_vel" for t in task.env.obs.terms) else "")
    picked = torch.load(run_dir / "checkpoints" / f"{checkpoint}.pt", map_location="cpu", weights_only=True)
    algo = NOT_IRL if task.algo.algorithm == "tracking" else task.algo.algorithm.upper()
    sources = [data["source"], *[e["source"] for e in data.get("extra_sources", [])]]
    terms = ", ".join(t.name for t in task.env.obs.terms)
    lines = [
        f"# {task.name}: {loaded.robot.name} policy", "",
        f"- **Algorithm:** {algo}.",
        f"- **Demonstrations:** {', '.join(Path(s).name for s in sources)} ({data['clips']} clip(s), "
        f"{data['frames']} frames at {data['frequency_hz']:.4g} Hz); license: {data_license}.",
        f"- **Observation** ({loaded.obs.dim(loaded.robot.num_joints)} values, history {task.env.obs.history}): "
        f"{terms}. Action: {loaded.robot.num_joints} joint targets, default pose + action_scale x action, PD.",
        f"- **Budget:** {int(last['step'])} env steps, {int(last['iteration'])} iterations, "
        f"{float(last['wall_s']) / 60:.1f} min wall clock ({task.num_envs} envs, preset {task.preset}, "
        f"{task.num_threads} MuJoCo thread(s), torch threads {task.torch_threads}), seed {task.seed}.",
        f"- **Score at the end of training** (last of {len(evals)} evaluations): mean "
        f"{evals[-1]['eval/score']:.3f}, min {evals[-1].get('eval/score_min', float('nan')):.3f}, "
        f"episodes up {evals[-1].get('eval/all_up', float('nan')):.2f}.",
        f"- **Shipped policy:** checkpoints/{checkpoint}.pt at step {int(picked['step'])}"
        + (f" (the run's best evaluation: mean {picked['eval']['score']:.3f}, min "
           f"{picked['eval']['eval/score_min']:.3f}, episodes up {picked['eval']['eval/all_up']:.2f}; "
           f"best = highest mean score)" if checkpoint == "best" else " (end of training)")
        + ".",
        f"- **Score of this ONNX file** ({episodes} deterministic episodes of {steps} steps = "
        f"{steps / loaded.robot.policy_hz:g} s " + (
            "from standing, commanded vx evenly spaced over " + f"{task.env.command_ranges[0]} m/s"
            if commanded else "from evenly spaced phases of the clips") + ", onnxruntime): "
        f"mean {ev.score:.3f}, min {ev.score_min:.3f}, episodes up {ev.all_up:.2f}, velocity RMSE "
        f"{ev.velocity_rmse:.3f} m/s.",
        (f"- **Through the deploy stack** (`bench/sim2sim_walk.py`, from standing: 2 s ramp, 1 s hold, 20 s "
         f"policy at each command{lin_vel_note}; speed = metres forward along the robot's heading / seconds in "
         f"POLICY; turned = the heading's change, the command's yaw rate being 0): `{deploy}`."
         if commanded else
         f"- **Through the deploy stack** (`trirl sim2sim`, 10 s from standing: 2 s ramp, 1 s hold, 7 s policy, "
         f"no velocity command{lin_vel_note}): `{deploy}` (m)."),
        "", ("The score is the TRIRL paper's imitation score with the command as the reference velocity: "
             "mean over steps of exp(-|v - (vx, vy, 0)|^2)" if commanded else
             "The imitation score is the TRIRL paper's: mean over steps of exp(-|v - v_ref|^2)")
        + " of the upper body's heading-frame velocity; a fall scores 0 from then on.", "",
    ]
    if note:
        lines += [note, ""]
    lines += ["## Reproduce", "", "```",
              f"trirl train --config models/{name}/config.yaml --run-dir runs/{name} --no-progress",
              f"trirl export runs/{name} --model-dir models/{name} --checkpoint {checkpoint} "
              + (f"--tol {tol:g} " if tol != DEFAULT_TOL else "") + f"--data-license '{data_license}'",
              "```", "", "## Use", "", "```",
              f"trirl rollout models/{name} [--dataset CLIP] [--video out.mp4]",
              f"trirl sim2sim --robot {loaded.robot.name} --policy models/{name}/policy.onnx --seconds 10"
              + (" --cmd-vel 0.5,0,0" if commanded else ""),
              *([f".venv/bin/python bench/sim2sim_walk.py --policy models/{name}/policy.onnx"]
                if commanded else []),
              "```", ""]
    (out_dir / "MODEL_CARD.md").write_text("\n".join(lines))
    log.info("shipped %s -> models/%s (score %.3f, min %.3f, up %.2f)", run_dir, name, ev.score, ev.score_min,
             ev.all_up)
