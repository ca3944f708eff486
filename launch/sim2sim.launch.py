"""Sim2sim over DDS: ``ros2 launch trirl_ros sim2sim.launch.py robot:=go2 policy:=models/go2_stand.onnx``.

Starts ``sim_robot`` (MuJoCo PD at 500 Hz speaking Unitree LowCmd/LowState over CycloneDDS on
loopback) and ``policy_deploy_node`` with the ``unitree_dds`` backend, auto-started with
config/deploy/sim2sim.yaml: WAIT_STATE -> ZERO_TORQUE -> RAMP -> HOLD -> POLICY by time. Watch
``ros2 topic echo /policy_deploy_node/safety_state``; send ``cmd_vel`` for command-conditioned policies.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

try:
    from ament_index_python.packages import get_package_share_directory

    _SHARE = get_package_share_directory("trirl_ros")
except Exception:  # running from a source checkout
    _SHARE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ARGS = {
    "robot": ("go2", "robot spec name (go2, g1_29dof, g1_23dof)"),
    "policy": ("", "exported .onnx policy (its .yaml spec beside it)"),
    "domain": ("7", "DDS domain shared by the sim robot and the deploy node"),
    "hold_seconds": ("0.0", "sim robot's elastic band duration (humanoids)"),
    "deploy_config": (os.path.join(_SHARE, "config", "deploy", "sim2sim.yaml"), "deploy settings YAML"),
}


def generate_launch_description():
    args = [DeclareLaunchArgument(k, default_value=v, description=d) for k, (v, d) in ARGS.items()]
    sim = Node(
        package="trirl_ros",
        executable="sim_robot",
        name="sim_robot",
        output="screen",
        arguments=["--robot", LaunchConfiguration("robot"), "--loopback",
                   "--domain", LaunchConfiguration("domain"),
                   "--hold-seconds", LaunchConfiguration("hold_seconds")],
    )
    deploy = LifecycleNode(
        package="trirl_ros",
        executable="policy_deploy_node",
        name="policy_deploy_node",
        namespace="",
        output="screen",
        parameters=[{
            "robot": LaunchConfiguration("robot"),
            "policy": LaunchConfiguration("policy"),
            "backend": "unitree_dds",
            "dds_domain": LaunchConfiguration("domain"),
            "dds_interface": "lo",
            "deploy_config": LaunchConfiguration("deploy_config"),
            "autostart": True,
        }],
    )
    return LaunchDescription([*args, sim, deploy])
