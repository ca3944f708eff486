"""Record live mocap into a dataset: ``ros2 launch trirl_ros record.launch.py robot:=g1_29dof``.

Starts ``mocap_recorder`` (idle until ``ros2 service call /mocap_recorder/start std_srvs/srv/Trigger``;
``.../stop`` ends an episode, ``.../save`` writes ``output_dir/<prefix>_<time>.npz``; Ctrl-C saves too).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ARGS = {
    "robot": ("g1_29dof", "robot spec name"),
    "joint_topic": ("/joint_states", "sensor_msgs/JointState topic"),
    "pose_topic": ("/base_pose", "base pose topic"),
    "pose_type": ("PoseStamped", "PoseStamped or Odometry"),
    "output_dir": ("demos", "folder for the datasets"),
    "rate": ("50.0", "Hz of the recorded dataset"),
    "autostart": ("false", "start recording immediately"),
}


def generate_launch_description():
    args = [DeclareLaunchArgument(k, default_value=v, description=d) for k, (v, d) in ARGS.items()]
    recorder = Node(
        package="trirl_ros",
        executable="mocap_recorder",
        name="mocap_recorder",
        output="screen",
        parameters=[{k: LaunchConfiguration(k) for k in ARGS}],
    )
    return LaunchDescription([*args, recorder])
