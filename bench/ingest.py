"""Ingest benchmark: how many times faster than real time motion is imported and bags are read.

Measured side by side in one run on the real clips of ../shared/mocap:
- import_x: seconds of motion imported per wall-clock second, over the AMP, ASAP, LocoMuJoCo and
  (written from ASAP) BeyondMimic CSV files (parse + validation + FD velocities). BVH retargeting
  (IK) is reported separately as bvh_x.
- bag_x: seconds of motion per second for ``trirl demos import BAG`` of a 50 Hz G1 bag (MCAP
  and sqlite3, ~30 s of motion).
- replay_x: raw read speed of the same bag with rosbags (what bag_replayer does between sleeps).
Targets: import_x >= 50, bag_x >= 20. Last line: ``import_x <v> bag_x <v>``.

    .venv/bin/python bench/ingest.py
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trirl_ros.core.demos.bagio import typestore, write_bag  # noqa: E402
from trirl_ros.core.demos.dataset import Dataset  # noqa: E402
from trirl_ros.core.demos.importers import ImportOptions, import_motion  # noqa: E402
from trirl_ros.core.demos.importers.csv_g1 import write_csv  # noqa: E402
from trirl_ros.core.demos.kinematics import RobotKinematics  # noqa: E402
from trirl_ros.core.demos.processing import resample  # noqa: E402


def timed(fn, repeats=3):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    mocap = REPO.parent / "shared" / "mocap"
    g1 = RobotKinematics.for_robot("g1_29dof")
    go2 = RobotKinematics.for_robot("go2")
    trust = ImportOptions(trust_pickle=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        asap = import_motion(mocap / "g1" / "asap_g1_walk_level1.pkl", g1.spec, opts=trust, kin=g1)
        csv = write_csv(asap, tmp / "asap.csv", g1.spec)
        jobs = [
            (mocap / "go2" / "amp_go2_trot0.txt", go2),
            (mocap / "go2" / "amp_go2_pace0.txt", go2),
            (mocap / "g1" / "asap_g1_walk_level1.pkl", g1),
            (mocap / "g1" / "asap_g1_walk_level2.pkl", g1),
            (mocap / "g1" / "locomujoco_g1_walk_constspeed.npz", g1),
            (csv, g1),
        ]
        motion_s, wall_s = 0.0, 0.0
        for path, kin in jobs:
            dt, ds = timed(lambda: import_motion(path, kin.spec, opts=trust, kin=kin))
            motion_s += ds.duration
            wall_s += dt
            print(f"import {path.name:<38s} {ds.duration:6.2f} s motion in {dt * 1000:7.1f} ms "
                  f"= {ds.duration / dt:8.1f}x real time")
        import_x = motion_s / wall_s

        dt, ds = timed(lambda: import_motion(mocap / "human" / "cmu_131_01_walk_scaled_m.bvh", g1.spec, kin=g1),
                       repeats=1)
        bvh_x = ds.duration / dt
        print(f"import {'cmu_131_01 BVH -> G1 (IK, 30 Hz)':<38s} {ds.duration:6.2f} s motion in "
              f"{dt * 1000:7.1f} ms = {bvh_x:8.1f}x real time")

        # ~30 s of 50 Hz G1 motion as a bag
        base = resample(asap, 50.0, g1)
        long = Dataset.concatenate([base] * 6)
        bag_x, replay_x = [], []
        for storage in ("mcap", "sqlite3"):
            bag = write_bag(long, tmp / f"bag_{storage}", storage=storage)
            dt, out = timed(lambda: import_motion(bag, g1.spec, kin=g1))
            assert out.num_frames == long.num_frames
            bag_x.append(long.duration / dt)

            def read_all():
                from rosbags.highlevel import AnyReader

                n = 0
                with AnyReader([bag], default_typestore=typestore()) as reader:
                    for _ in reader.messages():
                        n += 1
                return n

            rdt, n = timed(read_all)
            bag_seconds = long.duration + (long.num_clips - 1) * 1.0
            replay_x.append(bag_seconds / rdt)
            print(f"bag {storage:<7s} {long.duration:6.2f} s motion ({n} msgs): import {dt * 1000:7.1f} ms = "
                  f"{long.duration / dt:7.1f}x, raw read {rdt * 1000:6.1f} ms = {bag_seconds / rdt:8.1f}x real time")
    print(f"ratios: import {import_x:.1f}x (target 50x), bag import {min(bag_x):.1f}x (target 20x), "
          f"replay read {min(replay_x):.1f}x, BVH retarget {bvh_x:.1f}x")
    print(f"import_x {import_x:.1f} bag_x {min(bag_x):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
