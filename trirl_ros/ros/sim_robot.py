"""``sim_robot``: a MuJoCo G1/Go2 behind Unitree's DDS low-level interface (rt/lowstate, rt/lowcmd).

A plain process, not a ROS node: the robots' own transport is CycloneDDS, so the sim speaks it
directly, exactly like the real robot or unitree_mujoco. It accepts (and ignores) trailing
``--ros-args ...`` so launch files can start it with ``launch_ros.actions.Node``.

    sim_robot --robot go2 --domain 1 --interface lo
    sim_robot --robot g1_29dof --loopback --domain 7 --hold-seconds 3 --seconds 20

Sim time starts with the first valid LowCmd (until then the start state is published with time
frozen; ``--no-wait`` runs physics at once, zero torque). Prints one line at start, a status line
every ``--status-every`` seconds and a final summary from the ground truth since the start
``sim_robot done: t <s> steps <n> cmds <n> bad_crc <n> overruns <n> fell <0|1> distance <m>
min_z <m> max_tilt <deg> max_late_ms <ms>`` (``fell``: base below the spec's fall_min_height or tilted
beyond fall_max_tilt_deg at any physics step; ``max_late_ms``: the latest a physics step started
behind its real-time deadline, i.e. the longest the robot was silent beyond its 2 ms period).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sim_robot", description=__doc__.splitlines()[0])
    p.add_argument("--robot", required=True, help="robot spec name (go2, g1_29dof, g1_23dof) or YAML path")
    p.add_argument("--domain", type=int, default=1, help="DDS domain id (default 1, as unitree_mujoco)")
    p.add_argument("--interface", default=None,
                   help="network interface (e.g. lo, eth0); default: CYCLONEDDS_URI / CycloneDDS' choice")
    p.add_argument("--loopback", action="store_true",
                   help="loopback only: interface lo, no multicast, unicast discovery on 127.0.0.1")
    p.add_argument("--seconds", type=float, default=None,
                   help="sim seconds to run after the first command (default: until Ctrl-C)")
    p.add_argument("--no-wait", action="store_true",
                   help="start physics at once (zero torque) instead of at the first valid LowCmd")
    p.add_argument("--speed", type=float, default=1.0, help="real-time factor (default 1.0)")
    p.add_argument("--free-run", action="store_true", help="no pacing: step as fast as possible")
    p.add_argument("--hold-seconds", type=float, default=0.0,
                   help="elastic band holds the base for this many sim seconds (humanoid gantry)")
    p.add_argument("--mode-machine", type=int, default=1,
                   help="unitree_hg mode_machine reported in LowState; LowCmds must echo it")
    p.add_argument("--no-crc-check", action="store_true", help="apply LowCmds even with a bad CRC")
    p.add_argument("--status-every", type=float, default=5.0, help="wall seconds between status lines (0: off)")
    p.add_argument("--log-level", default="WARNING")
    return p


def _strip_ros_args(argv: list[str]) -> list[str]:
    return argv[: argv.index("--ros-args")] if "--ros-args" in argv else argv


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_strip_ros_args(list(sys.argv[1:] if argv is None else argv)))
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    from trirl_ros.core.deploy.unitree.dds import DdsConfig
    from trirl_ros.core.deploy.unitree.sim_robot import SimRobot
    from trirl_ros.core.robots.spec import load_robot_spec

    robot = load_robot_spec(args.robot)
    if args.loopback:
        config = DdsConfig.loopback(args.domain)
    else:
        config = DdsConfig(domain_id=args.domain, interface=args.interface)
    sim = SimRobot(robot, config, mode_machine=args.mode_machine, hold_seconds=args.hold_seconds,
                   check_crc=not args.no_crc_check, wait_for_cmd=not args.no_wait)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    pace = "free-running" if args.free_run else f"{args.speed:g}x real time"
    print(f"sim_robot: {robot.name} ({robot.msg_family}) on DDS domain {args.domain}"
          f"{' loopback' if args.loopback else ''}{f' interface {args.interface}' if args.interface else ''}, "
          f"{1.0 / sim.dt:.0f} Hz {pace}; publishing rt/lowstate, listening on rt/lowcmd", flush=True)
    sim.start(args.seconds, speed=None if args.free_run else args.speed, stop=stop)
    last = time.monotonic()
    try:
        while sim._thread.is_alive():
            sim._thread.join(0.2)
            if args.status_every > 0 and time.monotonic() - last >= args.status_every:
                last = time.monotonic()
                s = sim.stats
                print(f"t {sim.sim_time:.1f} steps {s.steps} cmds {s.cmds_received} bad_crc {s.cmd_crc_errors} "
                      f"rejected {s.cmd_mode_machine_rejected} overruns {s.overruns} "
                      f"base_z {sim.base_position()[2]:.3f}{'' if sim.have_cmd else ' (waiting for LowCmd)'}",
                      flush=True)
    finally:
        stop.set()
        s = sim.stats
        ph = sim.physics  # ground truth since the start
        sim.close()
    print(f"sim_robot done: t {ph.sim_time:.2f} steps {s.steps} cmds {s.cmds_received} bad_crc {s.cmd_crc_errors} "
          f"overruns {s.overruns} fell {int(ph.fell())} distance {ph.distance():.3f} "
          f"min_z {ph.min_height:.3f} max_tilt {ph.max_tilt_deg:.1f} "
          f"max_late_ms {1e3 * max(s.lateness_s, default=0.0):.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
