"""``mocap_recorder``: records live joint states + base pose into demonstration datasets.

Subscriptions (sensor-data QoS): ``joint_topic`` (sensor_msgs/JointState, matched by name) and
``pose_topic`` (geometry_msgs/PoseStamped or nav_msgs/Odometry, ``pose_type``). TF is not
supported live (tf2_msgs is not available in this environment); import TF bags with
``trirl demos import BAG`` instead.

Services (std_srvs/Trigger): ``~/start`` begins an episode, ``~/stop`` ends it, ``~/save``
ends it and writes every held episode as one dataset (one clip per continuous stretch; the
response message is the path). ``~/status`` (std_msgs/String, JSON) reports the state once per
``status_period`` s and after every service call. On shutdown or Ctrl-C whatever is held is saved;
if it cannot be turned into a dataset the raw streams are written next to it (``*.raw.npz``),
so nothing recorded is lost. All files are written atomically.

Parameters (node settings only): robot, joint_topic, pose_topic, pose_type, output_dir,
output_name ("" = ``<prefix>_<time>.npz``), prefix, rate (Hz of the dataset), split_gap (s),
autostart, use_header_stamp, status_period, license.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from std_msgs.msg import String
from std_srvs.srv import Trigger

from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.demos.kinematics import RobotKinematics
from trirl_ros.core.demos.streams import JointNameMapper, align_streams
from trirl_ros.ros.node_main import run_node

POSE_TYPES = ("PoseStamped", "Odometry")


class Episode:
    """Raw samples of one recording episode (lists grow from the subscription callbacks)."""

    def __init__(self) -> None:
        self.joint_t: list[float] = []
        self.joint_q: list[np.ndarray] = []
        self.pose_t: list[float] = []
        self.pose_pos: list[np.ndarray] = []
        self.pose_quat: list[np.ndarray] = []

    def empty(self) -> bool:
        return not self.joint_t and not self.pose_t


class MocapRecorder(Node):
    def __init__(self) -> None:
        super().__init__("mocap_recorder")
        p = self.declare_parameter
        self.robot = p("robot", "g1_29dof").value
        self.joint_topic = p("joint_topic", "/joint_states").value
        self.pose_topic = p("pose_topic", "/base_pose").value
        self.pose_type = p("pose_type", "PoseStamped").value
        self.output_dir = Path(p("output_dir", "demos").value)
        self.output_name = p("output_name", "").value
        self.prefix = p("prefix", "recording").value
        self.rate = float(p("rate", 50.0).value)
        self.split_gap = float(p("split_gap", 0.25).value)
        self.use_header_stamp = bool(p("use_header_stamp", True).value)
        self.license = p("license", "").value
        autostart = bool(p("autostart", False).value)
        status_period = float(p("status_period", 1.0).value)
        if self.pose_type not in POSE_TYPES:
            raise ValueError(f"pose_type must be one of {POSE_TYPES} (TF only via bag import), "
                             f"got {self.pose_type!r}")
        self.kin = RobotKinematics.for_robot(self.robot)
        self.mapper = JointNameMapper(self.kin.spec.joint_names)
        self.episodes: list[Episode] = []
        self.current: Episode | None = None
        self.last_saved = ""
        self.last_error = ""

        from sensor_msgs.msg import JointState

        if self.pose_type == "PoseStamped":
            from geometry_msgs.msg import PoseStamped as PoseMsg
        else:
            from nav_msgs.msg import Odometry as PoseMsg
        self.create_subscription(JointState, self.joint_topic, self._on_joints, qos_profile_sensor_data)
        self.create_subscription(PoseMsg, self.pose_topic, self._on_pose, qos_profile_sensor_data)
        self.create_service(Trigger, "~/start", self._srv_start)
        self.create_service(Trigger, "~/stop", self._srv_stop)
        self.create_service(Trigger, "~/save", self._srv_save)
        self.status_pub = self.create_publisher(
            String, "~/status", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.create_timer(status_period, self.publish_status)
        if autostart:
            self.start()
        self.get_logger().info(
            f"recording {self.robot}: joints {self.joint_topic}, base {self.pose_topic} "
            f"({self.pose_type}); {'recording' if autostart else 'idle, call ~/start'}")

    # ---------------------------------------------------------------- callbacks
    def _stamp(self, header) -> float:
        t = header.stamp.sec + header.stamp.nanosec * 1e-9
        if not self.use_header_stamp or t <= 0:
            t = self.get_clock().now().nanoseconds * 1e-9
        return t

    def _on_joints(self, msg) -> None:
        if self.current is None:
            return
        try:
            q = self.mapper(msg.name, msg.position)
        except ValueError as exc:
            self.last_error = str(exc)
            self.get_logger().error(str(exc), throttle_duration_sec=5.0)
            return
        self.current.joint_t.append(self._stamp(msg.header))
        self.current.joint_q.append(q)

    def _on_pose(self, msg) -> None:
        if self.current is None:
            return
        pose = msg.pose if self.pose_type == "PoseStamped" else msg.pose.pose
        p, o = pose.position, pose.orientation
        self.current.pose_t.append(self._stamp(msg.header))
        self.current.pose_pos.append(np.array([p.x, p.y, p.z]))
        self.current.pose_quat.append(np.array([o.w, o.x, o.y, o.z]))

    # ---------------------------------------------------------------- episodes
    def start(self) -> str:
        if self.current is not None:
            return "already recording"
        self.current = Episode()
        return "recording"

    def stop(self) -> str:
        if self.current is None:
            return "not recording"
        ep, self.current = self.current, None
        if ep.empty():
            return "stopped (episode empty, dropped)"
        self.episodes.append(ep)
        return f"stopped, {len(self.episodes)} episode(s) held"

    def held_samples(self) -> int:
        eps = self.episodes + ([self.current] if self.current is not None else [])
        return sum(len(e.joint_t) + len(e.pose_t) for e in eps)

    def _path(self) -> Path:
        name = self.output_name or f"{self.prefix}_{time.strftime('%Y%m%d_%H%M%S')}.npz"
        return self.output_dir / name

    def save(self) -> Path | None:
        """Stop, build one dataset from all held episodes, write it; None if nothing held."""
        self.stop()
        if not self.episodes:
            return None
        path = self._path()
        episodes, self.episodes = self.episodes, []
        try:
            parts = []
            for k, ep in enumerate(episodes):
                parts.append(align_streams(
                    self.kin, np.asarray(ep.joint_t), np.asarray(ep.joint_q), np.asarray(ep.pose_t),
                    np.asarray(ep.pose_pos), np.asarray(ep.pose_quat), self.rate, self.split_gap,
                    f"episode{k}", {"joint_topic": self.joint_topic, "pose_topic": self.pose_topic},
                ))
            ds = Dataset.concatenate(parts)
            ds.provenance = {"source": f"live topics {self.joint_topic}, {self.pose_topic}",
                             "sha256": "", "importer": "mocap_recorder", "license": self.license,
                             "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
            ds.save(path, self.kin.spec)
        except (ValueError, OSError) as exc:
            raw = path.with_suffix(".raw.npz")
            self._save_raw(raw, episodes)
            self.last_error = f"{exc}; raw streams kept in {raw}"
            self.get_logger().error(f"could not build a dataset: {self.last_error}")
            raise
        self.last_saved = str(path)
        self.get_logger().info(f"saved {path}: {ds.num_clips} clip(s), {ds.num_frames} frames")
        return path

    def _save_raw(self, path: Path, episodes: list[Episode]) -> None:
        arrays = {}
        for k, ep in enumerate(episodes):
            arrays[f"ep{k}_joint_t"] = np.asarray(ep.joint_t)
            arrays[f"ep{k}_joint_q"] = np.asarray(ep.joint_q).reshape(len(ep.joint_t), -1)
            arrays[f"ep{k}_pose_t"] = np.asarray(ep.pose_t)
            arrays[f"ep{k}_pose_pos"] = np.asarray(ep.pose_pos).reshape(-1, 3)
            arrays[f"ep{k}_pose_quat"] = np.asarray(ep.pose_quat).reshape(-1, 4)
        arrays["joint_names"] = np.array(self.kin.spec.joint_names)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)

    # ---------------------------------------------------------------- services / status
    def _reply(self, response, ok: bool, message: str):
        response.success = ok
        response.message = message
        self.publish_status()
        return response

    def _srv_start(self, request, response):
        return self._reply(response, True, self.start())

    def _srv_stop(self, request, response):
        return self._reply(response, True, self.stop())

    def _srv_save(self, request, response):
        try:
            path = self.save()
        except (ValueError, OSError) as exc:
            return self._reply(response, False, str(exc))
        return self._reply(response, path is not None, str(path) if path else "nothing recorded")

    def publish_status(self) -> None:
        cur = self.current
        status = {
            "state": "recording" if cur is not None else "idle",
            "episodes_held": len(self.episodes),
            "joint_msgs": len(cur.joint_t) if cur else 0,
            "pose_msgs": len(cur.pose_t) if cur else 0,
            "held_samples": self.held_samples(),
            "last_saved": self.last_saved,
            "last_error": self.last_error,
        }
        self.status_pub.publish(String(data=json.dumps(status)))

    def save_on_exit(self) -> None:
        """Shutdown hook: keep whatever is held."""
        try:
            path = self.save()
            if path is not None:
                self.get_logger().info(f"saved on shutdown: {path}")
        except (ValueError, OSError):
            pass  # already logged, raw streams written


def main(args=None):
    """Console-script entry point."""
    return run_node(MocapRecorder, args, on_exit=MocapRecorder.save_on_exit)

if __name__ == "__main__":
    raise SystemExit(main())
