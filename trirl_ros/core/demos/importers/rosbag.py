"""rosbag2 directories (MCAP or sqlite3 storage), read with ``rosbags``: joint angles from
``sensor_msgs/JointState`` (matched by name), base pose from ``geometry_msgs/PoseStamped``,
``nav_msgs/Odometry`` or ``tf2_msgs/TFMessage`` (``--pose-topic``, ``--base-frame``,
``--world-frame``), aligned on a ``--rate`` Hz grid by interpolation; pauses longer than
``--split-gap`` start a new clip.
"""

from __future__ import annotations

from pathlib import Path

from trirl_ros.core.demos.bagio import read_streams
from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.demos.streams import align_streams

NAME = "rosbag"


def sniff(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return (path / "metadata.yaml").is_file() or any(path.glob("*.mcap")) or any(path.glob("*.db3"))
    return False


def load(path: Path, kin, opts) -> Dataset:
    streams = read_streams(
        path, kin.spec.joint_names, opts.joint_topic, opts.pose_topic,
        opts.base_frame or kin.spec.base_body, opts.world_frame,
    )
    prov = {"joint_topic": streams.joint_topic, "pose_topic": streams.pose_topic,
            "pose_type": streams.pose_type, "rate": opts.rate}
    return align_streams(kin, streams.joint_t, streams.joint_q, streams.pose_t, streams.pose_pos,
                         streams.pose_quat, opts.rate, opts.split_gap, path.name, prov)
