"""ROS message plumbing for :class:`~trirl_ros.core.deploy.backends.ros_topics.RosTopicsBackend`:
``sensor_msgs/JointState`` + ``sensor_msgs/Imu`` subscriptions in, ``sensor_msgs/JointState`` position
targets out (name, position, velocity, effort = feed-forward torque)."""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Imu, JointState

from trirl_ros.core.deploy.backends.ros_topics import JointTargets, RosTopicsBackend
from trirl_ros.core.robots.spec import RobotSpec


def make_ros_topics_backend(node: Node, robot: RobotSpec, joint_states: str = "joint_states",
                            imu: str = "imu", targets: str = "joint_targets") -> RosTopicsBackend:
    """Create the backend and wire it to ``node``'s subscriptions and publisher."""
    pub = node.create_publisher(JointState, targets, 10)

    def publish(t: JointTargets) -> None:
        msg = JointState()
        msg.header.stamp = node.get_clock().now().to_msg()
        msg.name = list(t.names)
        msg.position = t.position.tolist()
        msg.velocity = t.velocity.tolist()
        msg.effort = t.effort.tolist()
        pub.publish(msg)

    backend = RosTopicsBackend(robot, publish)

    def on_joint_state(msg: JointState) -> None:
        backend.on_joint_state(msg.name, msg.position, msg.velocity, msg.effort)

    def on_imu(msg: Imu) -> None:
        o, w, a = msg.orientation, msg.angular_velocity, msg.linear_acceleration
        backend.on_imu((o.w, o.x, o.y, o.z), (w.x, w.y, w.z), (a.x, a.y, a.z))

    # keep the ROS entities with the backend (the node destroys them on cleanup)
    backend.ros_publishers = [pub]
    backend.ros_subscriptions = [
        node.create_subscription(JointState, joint_states, on_joint_state, qos_profile_sensor_data),
        node.create_subscription(Imu, imu, on_imu, qos_profile_sensor_data),
    ]
    return backend
