"""Run an exported policy: ``ros2 launch trirl_ros deploy.launch.py robot:=go2 backend:=unitree_dds
policy:=models/go2_stand.onnx``.

Starts ``policy_deploy_node`` (lifecycle). With ``autostart:=true`` it configures and activates itself;
otherwise drive it with ``ros2 lifecycle set /policy_deploy_node configure`` / ``activate``. The
default deploy config waits for the operator at each stage:
``ros2 service call /policy_deploy_node/start std_srvs/srv/Trigger`` (zero torque -> ramp, then
hold -> policy) and ``.../stop`` (damping). The safety state is on ``/policy_deploy_node/safety_state``.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

ARGS = {
    "robot": ("go2", "robot spec name (go2, g1_29dof, g1_23dof)"),
    "backend": ("unitree_dds", "mujoco | ros_topics | unitree_dds"),
    "policy": ("", "exported .onnx policy (its .yaml spec beside it)"),
    "spec": ("", "policy spec YAML (default: beside the .onnx)"),
    "deploy_config": ("", "deploy settings YAML (default config/deploy/default.yaml)"),
    "autostart": ("false", "configure + activate on start-up"),
    "dds_domain": ("0", "DDS domain of the robot (unitree_dds)"),
    "dds_interface": ("", "network interface to the robot, e.g. eth0 (unitree_dds)"),
}


def generate_launch_description():
    args = [DeclareLaunchArgument(k, default_value=v, description=d) for k, (v, d) in ARGS.items()]
    node = LifecycleNode(
        package="trirl_ros",
        executable="policy_deploy_node",
        name="policy_deploy_node",
        namespace="",
        output="screen",
        parameters=[{k: LaunchConfiguration(k) for k in ARGS}],
    )
    return LaunchDescription([*args, node])
