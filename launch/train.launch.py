"""Train as a ROS 2 node: ``ros2 launch trirl_ros train.launch.py config:=go2_trot run_dir:=runs/go2``.

Starts ``trainer_node`` (the ``trirl train`` runner on a worker thread). Progress on
``/trainer_node/progress`` (std_msgs/String JSON) and ``/diagnostics``; services
``/trainer_node/save_checkpoint`` and ``/trainer_node/stop`` (std_srvs/srv/Trigger). Ctrl-C
finishes the iteration and checkpoints; ``sigterm_timeout`` gives it that long before launch
escalates to SIGTERM/SIGKILL. A run_dir with a checkpoint is resumed.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ARGS = {
    "config": ("go2_trot", "task YAML, or a task name under config/tasks/ (go2_trot, go2_pace, g1_walk)"),
    "run_dir": ("", "run folder (default runs/<task>_<time>); one holding a checkpoint is resumed"),
    "device": ("", "'' (the config's) | cpu | cuda | auto"),
    "overrides": ("", "config overrides like trirl train --set, space separated: 'total_steps=20000 seed=1'"),
}


def generate_launch_description():
    args = [DeclareLaunchArgument(k, default_value=v, description=d) for k, (v, d) in ARGS.items()]
    # seconds launch waits after Ctrl-C (SIGINT) before SIGTERM: the final checkpoint needs the iteration to end
    args.append(DeclareLaunchArgument("sigterm_timeout", default_value="120",
                                      description="seconds to wait for the final checkpoint after Ctrl-C"))
    node = Node(
        package="trirl_ros",
        executable="trainer_node",
        name="trainer_node",
        output="screen",
        parameters=[{k: LaunchConfiguration(k) for k in ARGS}],
    )
    return LaunchDescription([*args, node])
