"""A frame strip of a policy beside its reference, for the README: ``replay`` a run or model folder,
render ``--frames`` moments evenly spaced over ``--seconds`` (policy above, reference below) and
write one PNG. Usage: .venv/bin/python tools/frame_strip.py models/go2_trot docs/go2_trot.png"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run_dir")
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--width", type=int, default=192)
    ap.add_argument("--height", type=int, default=144)
    args = ap.parse_args()

    import imageio.v2 as imageio

    from trirl_ros.core.robots.models import load_model
    from trirl_ros.core.robots.spec import load_robot_spec
    from trirl_ros.core.viz.rollout import replay
    from trirl_ros.core.viz.video import SideBySideRenderer

    res = replay(args.run_dir, seconds=args.seconds)
    robot = load_robot_spec(res.robot)
    renderer = SideBySideRenderer(load_model(robot, scene=True), robot.base_body, args.width, args.height)
    idx = np.linspace(len(res.qpos) // 4, len(res.qpos) - 1, args.frames).astype(int)  # walking, not starting
    try:
        frames = [renderer.frame(res.qpos[i], res.ref_qpos[i]) for i in idx]
    finally:
        renderer.close()
    w = args.width
    top = np.concatenate([f[:, :w] for f in frames], axis=1)  # the policy
    bottom = np.concatenate([f[:, w:] for f in frames], axis=1)  # the reference
    imageio.imwrite(args.out, np.concatenate([top, bottom], axis=0))
    print(f"{args.out}: {args.frames} frames at t = {', '.join(f'{i / res.policy_hz:.2f}' for i in idx)} s "
          f"(policy above, reference below), score {res.score:.3f}")


if __name__ == "__main__":
    main()
