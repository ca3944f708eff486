"""rosbag2 reading and writing with the ``rosbags`` library (no ROS install needed).

:func:`write_bag` turns a Dataset into a bag (JointState + a base pose topic) in either storage
format; :func:`read_streams` reads joint and base-pose streams out of a bag for
:func:`~trirl_ros.core.demos.streams.align_streams`.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset, DatasetError
from trirl_ros.core.demos.streams import JointNameMapper

log = logging.getLogger(__name__)

JOINT_STATE = "sensor_msgs/msg/JointState"
POSE_STAMPED = "geometry_msgs/msg/PoseStamped"
ODOMETRY = "nav_msgs/msg/Odometry"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
POSE_TYPES = (POSE_STAMPED, ODOMETRY, TF_MESSAGE)
STORAGES = ("mcap", "sqlite3")


def typestore():
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


def _time(ts, t: float):
    sec = int(np.floor(t))
    return ts.types["builtin_interfaces/msg/Time"](sec=sec, nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)


def write_bag(
    ds: Dataset,
    path: str | Path,
    storage: str = "mcap",
    joint_topic: str = "/joint_states",
    pose_topic: str = "/base_pose",
    pose_type: str = POSE_STAMPED,
    world_frame: str = "world",
    base_frame: str = "pelvis",
    t0: float = 1000.0,
    clip_gap: float = 1.0,
) -> Path:
    """Write ``ds`` as a rosbag2 directory ``path`` (must not exist; removed again on failure).

    Frame k of clip c is stamped ``t0 + start_c + k / frequency`` (header and log time), clips
    separated by ``clip_gap`` seconds. ``pose_type`` is one of POSE_TYPES.
    """
    from rosbags.rosbag2 import StoragePlugin, Writer

    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
    if pose_type not in POSE_TYPES:
        raise ValueError(f"pose_type must be one of {POSE_TYPES}, got {pose_type!r}")
    path = Path(path)
    ts = typestore()
    T = ts.types
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    try:
        with Writer(path, version=9, storage_plugin=plugin) as w:
            jc = w.add_connection(joint_topic, JOINT_STATE, typestore=ts)
            pc = w.add_connection(pose_topic, pose_type, typestore=ts)
            start = t0
            for clip in ds.clips():
                for k in range(clip.num_frames):
                    t = start + k / ds.frequency
                    stamp = _time(ts, t)
                    ns = stamp.sec * 1_000_000_000 + stamp.nanosec
                    header = T["std_msgs/msg/Header"](stamp=stamp, frame_id=world_frame)
                    js = T[JOINT_STATE](
                        header=header, name=list(ds.joint_names),
                        position=np.ascontiguousarray(clip.qpos[k, 7:]),
                        velocity=np.ascontiguousarray(clip.qvel[k, 6:]),
                        effort=np.zeros(0),
                    )
                    w.write(jc, ns, ts.serialize_cdr(js, JOINT_STATE))
                    p, q = clip.qpos[k, :3], clip.qpos[k, 3:7]
                    pt = T["geometry_msgs/msg/Point"](x=float(p[0]), y=float(p[1]), z=float(p[2]))
                    qt = T["geometry_msgs/msg/Quaternion"](x=float(q[1]), y=float(q[2]), z=float(q[3]), w=float(q[0]))
                    pose = T["geometry_msgs/msg/Pose"](position=pt, orientation=qt)
                    if pose_type == POSE_STAMPED:
                        msg = T[POSE_STAMPED](header=header, pose=pose)
                    elif pose_type == ODOMETRY:
                        cov = np.zeros(36)
                        lin = Q.rotate_inv(q, clip.qvel[k, :3])
                        ang = clip.qvel[k, 3:6]
                        V3 = T["geometry_msgs/msg/Vector3"]
                        twist = T["geometry_msgs/msg/Twist"](linear=V3(x=lin[0], y=lin[1], z=lin[2]),
                                                             angular=V3(x=ang[0], y=ang[1], z=ang[2]))
                        msg = T[ODOMETRY](
                            header=header, child_frame_id=base_frame,
                            pose=T["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=cov),
                            twist=T["geometry_msgs/msg/TwistWithCovariance"](twist=twist, covariance=cov),
                        )
                    else:
                        V3 = T["geometry_msgs/msg/Vector3"]
                        tf = T["geometry_msgs/msg/TransformStamped"](
                            header=header, child_frame_id=base_frame,
                            transform=T["geometry_msgs/msg/Transform"](
                                translation=V3(x=float(p[0]), y=float(p[1]), z=float(p[2])), rotation=qt),
                        )
                        msg = T[TF_MESSAGE](transforms=[tf])
                    w.write(pc, ns, ts.serialize_cdr(msg, pose_type))
                start += (clip.num_frames - 1) / ds.frequency + clip_gap
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


@dataclass
class Streams:
    """Raw streams read from a bag. joint_t (N,), joint_q (N, J) robot order (NaN = absent),
    pose_t (M,), pose_pos (M, 3), pose_quat (M, 4) w,x,y,z, and which topics were used."""

    joint_t: np.ndarray
    joint_q: np.ndarray
    pose_t: np.ndarray
    pose_pos: np.ndarray
    pose_quat: np.ndarray
    joint_topic: str
    pose_topic: str
    pose_type: str


def stamp_seconds(header_stamp, log_ns: int) -> float:
    """Header stamp in seconds, or the bag's log time if the stamp is zero."""
    t = header_stamp.sec + header_stamp.nanosec * 1e-9
    return t if t > 0 else log_ns * 1e-9


def pose_from_msg(msg, msgtype: str, log_ns: int, base_frame: str, world_frame: str):
    """[(t, pos (3,), quat wxyz (4,))] extracted from one pose-like message (TF: matching frames)."""
    if msgtype == POSE_STAMPED:
        items = [(msg.header.stamp, msg.pose.position, msg.pose.orientation)]
    elif msgtype == ODOMETRY:
        items = [(msg.header.stamp, msg.pose.pose.position, msg.pose.pose.orientation)]
    elif msgtype == TF_MESSAGE:
        items = [
            (tf.header.stamp, tf.transform.translation, tf.transform.rotation)
            for tf in msg.transforms
            if tf.child_frame_id.lstrip("/") == base_frame.lstrip("/")
            and (not world_frame or tf.header.frame_id.lstrip("/") == world_frame.lstrip("/"))
        ]
    else:
        raise DatasetError(f"{msgtype} is not a base pose type; use one of {POSE_TYPES}")
    return [
        (stamp_seconds(st, log_ns), np.array([p.x, p.y, p.z]), np.array([q.w, q.x, q.y, q.z]))
        for st, p, q in items
    ]


def read_streams(
    path: str | Path,
    joint_names: tuple[str, ...],
    joint_topic: str = "/joint_states",
    pose_topic: str = "",
    base_frame: str = "",
    world_frame: str = "",
) -> Streams:
    """Read JointState (matched by name) and base poses out of a rosbag2 directory (MCAP or
    sqlite3). ``pose_topic`` "" picks the only PoseStamped/Odometry/TFMessage topic.
    Raises DatasetError for unreadable bags, missing topics, unknown joint names."""
    from rosbags.highlevel import AnyReader

    path = Path(path)
    mapper = JointNameMapper(joint_names)
    jt, jq, pt, pp, pq = [], [], [], [], []
    try:
        with AnyReader([path], default_typestore=typestore()) as reader:
            conns = {c.topic: c for c in reader.connections}
            if joint_topic not in conns or conns[joint_topic].msgtype != JOINT_STATE:
                raise DatasetError(
                    f"bag {path.name} has no {JOINT_STATE} topic {joint_topic!r}; topics: "
                    f"{ {t: c.msgtype for t, c in conns.items()} }"
                )
            if not pose_topic:
                cands = [t for t, c in conns.items() if c.msgtype in POSE_TYPES]
                if len(cands) != 1:
                    raise DatasetError(
                        f"bag {path.name}: cannot choose the base pose topic among {cands}; pass --pose-topic"
                    )
                pose_topic = cands[0]
            if pose_topic not in conns or conns[pose_topic].msgtype not in POSE_TYPES:
                raise DatasetError(f"bag {path.name}: no base pose topic {pose_topic!r} of a type in {POSE_TYPES}")
            pose_type = conns[pose_topic].msgtype
            for conn, log_ns, raw in reader.messages(connections=[conns[joint_topic], conns[pose_topic]]):
                msg = reader.deserialize(raw, conn.msgtype)
                if conn.topic == joint_topic:
                    jt.append(stamp_seconds(msg.header.stamp, log_ns))
                    jq.append(mapper(msg.name, msg.position))
                else:
                    for t, p, q in pose_from_msg(msg, pose_type, log_ns, base_frame, world_frame):
                        pt.append(t)
                        pp.append(p)
                        pq.append(q)
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - rosbags/mcap/sqlite raise many types for corrupt bags
        raise DatasetError(f"cannot read bag {path}: {type(exc).__name__}: {exc}") from exc
    if not pt:
        raise DatasetError(
            f"bag {path.name}: no base pose on {pose_topic!r}"
            + (f" for frame {base_frame!r}" if pose_type == TF_MESSAGE else "")
        )
    jorder = np.argsort(jt, kind="stable")
    porder = np.argsort(pt, kind="stable")
    return Streams(
        np.asarray(jt)[jorder], np.asarray(jq).reshape(len(jt), -1)[jorder],
        np.asarray(pt)[porder], np.asarray(pp)[porder], np.asarray(pq)[porder],
        joint_topic, pose_topic, pose_type,
    )
