"""``trirl demos``: import motion files into validated datasets, inspect them, write bags.

    trirl demos import SRC --robot NAME [--format FMT] -o OUT.npz [options]
    trirl demos info FILE
    trirl demos to-bag FILE -o BAGDIR [--storage mcap|sqlite3] [--pose-type ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def register(subparsers) -> None:
    parser = subparsers.add_parser("demos", help="import, inspect and convert demonstrations")
    sub = parser.add_subparsers(dest="demos_command", metavar="SUBCOMMAND")
    sub.required = True

    imp = sub.add_parser("import", help="import a motion file / rosbag2 into a dataset .npz")
    imp.add_argument("src", type=Path, help="motion file or rosbag2 directory")
    imp.add_argument("--robot", required=True, help="robot spec name (g1_29dof, g1_23dof, go2) or YAML path")
    imp.add_argument("--format", dest="fmt", default=None,
                     help="locomujoco | phc | amp | csv | bvh | rosbag | dataset (default: detect)")
    imp.add_argument("-o", "--output", type=Path, required=True, help="dataset .npz to write")
    imp.add_argument("--trust-pickle", action="store_true",
                     help="allow PHC/ASAP pickles (a pickle can run code when loaded)")
    imp.add_argument("--leg-order", default="FL,FR,RL,RR",
                     help="AMP leg order of the joint columns (FR,FL,RR,RL for PyBullet A1 clips)")
    imp.add_argument("--fps", type=float, default=None, help="frame rate of CSV files (default 30)")
    imp.add_argument("--license", default="", help="license note recorded in the provenance")
    imp.add_argument("--joint-topic", default="/joint_states", help="rosbag JointState topic")
    imp.add_argument("--pose-topic", default="", help="rosbag base pose topic (default: the only one)")
    imp.add_argument("--base-frame", default="", help="TF child frame of the base (default: base body)")
    imp.add_argument("--world-frame", default="", help="TF parent frame (default: any)")
    imp.add_argument("--rate", type=float, default=50.0, help="Hz of datasets built from bags")
    imp.add_argument("--split-gap", type=float, default=0.25, help="s; longer pauses in a bag cut clips")
    imp.add_argument("--ik-rate", type=float, default=30.0, help="Hz at which BVH frames are retargeted")
    imp.add_argument("--hz", type=float, default=None, help="resample the result to this rate (Hz)")
    imp.add_argument("--ground", choices=("none", "frame", "smooth", "clip"), default="none",
                     help="ground correction: shift base height so the lowest foot touches the floor")
    imp.set_defaults(func=cmd_import)

    info = sub.add_parser("info", help="print robot, clips, duration, speed and joint ranges")
    info.add_argument("file", type=Path)
    info.set_defaults(func=cmd_info)

    bag = sub.add_parser("to-bag", help="write a dataset as a rosbag2 (JointState + base pose)")
    bag.add_argument("file", type=Path)
    bag.add_argument("-o", "--output", type=Path, required=True, help="bag directory to create")
    bag.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    bag.add_argument("--pose-type", choices=("PoseStamped", "Odometry", "TFMessage"), default="PoseStamped")
    bag.add_argument("--joint-topic", default="/joint_states")
    bag.add_argument("--pose-topic", default="/base_pose")
    bag.set_defaults(func=cmd_to_bag)


def cmd_import(args: argparse.Namespace) -> int:
    from trirl_ros.core.demos.importers import ImportOptions, import_motion
    from trirl_ros.core.demos.kinematics import RobotKinematics
    from trirl_ros.core.demos.processing import floating_feet, ground_correct, resample

    if args.output.exists() and args.output.is_dir():
        raise ValueError(f"output {args.output} is a directory")
    opts = ImportOptions(
        trust_pickle=args.trust_pickle, leg_order=args.leg_order, fps=args.fps, license=args.license,
        joint_topic=args.joint_topic, pose_topic=args.pose_topic, base_frame=args.base_frame,
        world_frame=args.world_frame, rate=args.rate, split_gap=args.split_gap, ik_rate=args.ik_rate,
    )
    kin = RobotKinematics.for_robot(args.robot)
    ds = import_motion(args.src, kin.spec, args.fmt, opts, kin)
    if args.hz:
        ds = resample(ds, args.hz, kin)
    height, off = floating_feet(ds, kin)
    print(f"feet: lowest foot {height * 1000:+.1f} mm above the floor (median), {off:.0%} of frames float or "
          f"sink by more than 10 mm")
    if off > 0.5 and args.ground == "none":
        print(f"warning: most frames float or sink by more than 10 mm; import with --ground frame|smooth|clip "
              f"to put the lowest foot on the floor", file=sys.stderr)
    if args.ground != "none":
        ds, report = ground_correct(ds, kin, mode=args.ground)
        for name, off, (lo, hi), frac in zip(ds.clip_names, report.offsets, report.offset_range,
                                             report.contact_fraction):
            print(f"ground {name}: offset mean {off * 1000:+.1f} mm (range {lo * 1000:+.1f}..{hi * 1000:+.1f}), "
                  f"lowest foot within {report.contact_tol * 1000:.0f} mm of the floor in {frac:.0%} of frames")
    ik = ds.provenance.get("ik_residual_m")
    if ik:
        print(f"IK residual per frame: mean {ik['mean'] * 1000:.1f} mm, max {ik['max'] * 1000:.1f} mm")
    ds.save(args.output, kin.spec)
    print(f"wrote {args.output}: robot {ds.robot}, {ds.num_clips} clip(s), {ds.num_frames} frames at "
          f"{ds.frequency:g} Hz ({ds.duration:.2f} s), importer {ds.provenance.get('importer')}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from trirl_ros.core.demos.dataset import Dataset

    ds = Dataset.load(args.file)
    prov = ds.provenance
    print(f"file      {args.file}")
    print(f"robot     {ds.robot} ({ds.num_joints} joints)")
    print(f"rate      {ds.frequency:g} Hz, {ds.num_frames} frames, {ds.duration:.2f} s")
    print(f"source    {prov.get('source', '?')} (sha256 {str(prov.get('sha256', '?'))[:12]}), "
          f"importer {prov.get('importer', '?')}, license {prov.get('license') or '-'}")
    print(f"clips     {ds.num_clips}")
    for (s, e), name in zip(ds.clip_ranges(), ds.clip_names):
        dur = (e - s - 1) / ds.frequency
        dist = np.linalg.norm(ds.qpos[e - 1, :2] - ds.qpos[s, :2])
        speed = np.linalg.norm(ds.qvel[s:e, :2], axis=1).mean()
        print(f"  {name}: {e - s} frames, {dur:.2f} s, mean speed {speed:.2f} m/s, "
              f"travelled {dist:.2f} m, base height {ds.qpos[s:e, 2].mean():.3f} m")
    print("joint ranges (rad):")
    lo, hi = ds.qpos[:, 7:].min(axis=0), ds.qpos[:, 7:].max(axis=0)
    for name, a, b in zip(ds.joint_names, lo, hi):
        print(f"  {name:<28s} [{a:+.3f}, {b:+.3f}]")
    return 0


def cmd_to_bag(args: argparse.Namespace) -> int:
    from trirl_ros.core.demos.bagio import write_bag
    from trirl_ros.core.demos.dataset import Dataset

    if args.output.exists():
        raise ValueError(f"bag directory {args.output} already exists")
    ds = Dataset.load(args.file)
    types = {"PoseStamped": "geometry_msgs/msg/PoseStamped", "Odometry": "nav_msgs/msg/Odometry",
             "TFMessage": "tf2_msgs/msg/TFMessage"}
    from trirl_ros.core.robots.spec import load_robot_spec

    base = load_robot_spec(ds.robot).base_body
    write_bag(ds, args.output, args.storage, args.joint_topic, args.pose_topic, types[args.pose_type],
              base_frame=base)
    print(f"wrote {args.output} ({args.storage}): {ds.num_frames} frames on {args.joint_topic} and "
          f"{args.pose_topic} ({args.pose_type})")
    return 0
