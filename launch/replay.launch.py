"""Replay a bag into the recorder: ``ros2 launch trirl_ros replay.launch.py bag:=/path/to/bag``.

Starts ``mocap_recorder`` (recording from the start) and ``bag_replayer`` (waits for the
recorder's subscriptions, then plays with the recorded timing). When the bag is done, Ctrl-C
saves the dataset into ``output_dir``.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    declared = {
        "bag": ("", "rosbag2 directory (MCAP or sqlite3)"),
        "robot": ("g1_29dof", "robot spec name"),
        "rate": ("1.0", "playback speed factor"),
        "loop": ("false", "replay forever"),
        "start_offset": ("0.0", "seconds skipped at the start of the bag"),
        "joint_topic": ("/joint_states", "JointState topic"),
        "pose_topic": ("/base_pose", "base pose topic"),
        "pose_type": ("PoseStamped", "PoseStamped or Odometry"),
        "output_dir": ("demos", "folder for the recorded dataset"),
    }
    args = [DeclareLaunchArgument(k, default_value=v, description=d) for k, (v, d) in declared.items()]
    cfg = {k: LaunchConfiguration(k) for k in declared}
    recorder = Node(
        package="trirl_ros", executable="mocap_recorder", name="mocap_recorder", output="screen",
        parameters=[{
            "robot": cfg["robot"], "joint_topic": cfg["joint_topic"], "pose_topic": cfg["pose_topic"],
            "pose_type": cfg["pose_type"], "output_dir": cfg["output_dir"], "autostart": True,
        }],
    )
    replayer = Node(
        package="trirl_ros", executable="bag_replayer", name="bag_replayer", output="screen",
        parameters=[{
            "bag": cfg["bag"], "rate": cfg["rate"], "loop": cfg["loop"],
            "start_offset": cfg["start_offset"], "wait_for_subscribers": 10.0,
        }],
    )
    return LaunchDescription([*args, recorder, replayer])
