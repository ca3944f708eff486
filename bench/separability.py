"""Benchmark: can a discriminator tell a policy's transitions from the demonstrations, per input?

    .venv/bin/python bench/separability.py RUN_OR_MODEL_DIR [--dataset demos.npz] [--steps 300]

Rolls the folder's policy out deterministically in 64 envs started from demonstration states (300
steps, envs that fall restart from another one), then, for each set of observation terms, trains a
fresh discriminator D(s, s') (64-64 tanh, gradient penalty 5, the training code's classifier) on half
of the agent and expert transitions and prints its accuracy on the other half. A policy that does
the motion but is still separated at ~100 % leaves a learned reward nothing to climb: the
demonstrations are not states the robot reaches. Expert transitions: the folder's reference motion,
or ``--dataset`` (e.g. the policy's own recorded rollouts, ``trirl rollout --record``).
Last line: ``separability <terms> <accuracy> ...``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

TERM_SETS = [
    ("base_lin_vel", "base_ang_vel", "projected_gravity", "joint_pos", "joint_vel"),
    ("base_lin_vel", "projected_gravity", "joint_pos"),
    ("joint_pos",), ("joint_vel",), ("base_lin_vel",), ("base_ang_vel",), ("projected_gravity",),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--dataset", type=Path, default=None)
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    from trirl_ros.core.algo.discriminator import Discriminator, train_classifier
    from trirl_ros.core.algo.transitions import Transitions
    from trirl_ros.core.demos.processing import expert_transitions
    from trirl_ros.core.envs.locomotion import LocomotionEnv
    from trirl_ros.core.export.model_dir import load_policy_fn
    from trirl_ros.core.train.disc_view import DiscView
    from trirl_ros.core.train.reference import ReferenceMotion
    from trirl_ros.core.train.task import load_task_config
    from trirl_ros.core.viz.rollout import reference_dataset

    torch.manual_seed(0)
    cfg = load_task_config(args.run_dir / "config.yaml")
    robot, act = load_policy_fn(args.run_dir, cfg)
    ds = reference_dataset(args.run_dir, cfg, robot, args.dataset)
    env = LocomotionEnv(robot, cfg.env, 64, seed=0, num_threads=1)
    ref = ReferenceMotion(ds, robot, env.model, env.default_qpos)
    rng = np.random.default_rng(0)
    env.reset()
    frames = ref.sample_frames(rng, 64)
    obs = env.reset_to(ref.qpos[frames], ref.qvel[frames], np.arange(64))
    O, N, T = [], [], []
    for _ in range(args.steps):
        actions = np.concatenate([act(obs[i:i + 1]) for i in range(64)]).astype(np.float32)
        nobs, term, trunc, info = env.step(actions)
        O.append(obs.copy())
        N.append(info["final_obs"].copy())
        T.append(term.copy())
        obs = nobs
        done = np.flatnonzero(term | trunc)
        if len(done):
            fr = ref.sample_frames(rng, len(done))
            obs = env.reset_to(ref.qpos[fr], ref.qvel[fr], done)
    env.close()
    O, N, T = np.concatenate(O), np.concatenate(N), np.concatenate(T)
    print(f"{args.run_dir}: {len(O)} agent transitions ({int(T.sum())} falls), expert: {ds.num_frames} frames")
    results = []
    for terms in TERM_SETS:
        names = [t.name for t in cfg.env.obs.terms]
        if not set(terms) <= set(names):
            continue
        view = DiscView.build(cfg.env.obs, terms, robot.num_joints)
        et = expert_transitions(ds, robot, view.spec)
        ex = Transitions(et.obs, et.next_obs, None, et.absorbing)
        ag = Transitions(view(torch.as_tensor(O)), view(torch.as_tensor(N)), None, torch.as_tensor(T))
        pa, pe = torch.randperm(len(ag)), torch.randperm(len(ex))
        a_tr, a_te = ag.index(pa[:len(ag) // 2]), ag.index(pa[len(ag) // 2:])
        e_tr, e_te = ex.index(pe[:len(ex) // 2]), ex.index(pe[len(ex) // 2:])
        d = Discriminator("s_next", view.dim, robot.num_joints, (64, 64))
        d.update_normalizer(Transitions.cat([e_tr, a_tr]))
        opt = torch.optim.Adam(d.parameters(), lr=1e-3)
        for _ in range(10):
            train_classifier(d, opt, e_tr, a_tr, 5, 256, 5.0)
        with torch.no_grad():
            le, la = d.on(e_te), d.on(a_te)
        acc = float(0.5 * ((le > 0).float().mean() + (la < 0).float().mean()))
        print(f"{'+'.join(terms):62s} held-out accuracy {acc:.3f}  logits expert {float(le.mean()):+.2f} "
              f"agent {float(la.mean()):+.2f}")
        results.append(f"{'+'.join(terms)} {acc:.3f}")
    print("separability " + " ".join(results))


if __name__ == "__main__":
    main()
