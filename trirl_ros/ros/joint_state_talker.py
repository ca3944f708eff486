"""joint_state_talker: publishes a robot's default standing pose as sensor_msgs/JointState.

A minimal real node (used by the ROS 2 smoke test and handy to check a robot's joint names in
RViz / ``ros2 topic echo``). Parameters (node settings only):
  robot (str, "go2"): robot spec name (config/robots/<robot>.yaml)
  rate_hz (float, 50.0): publish rate
  topic (str, "joint_states"): output topic
Joint names/positions are in policy order; velocities and efforts are zero.
"""

from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import JointState

from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.ros.node_main import run_node


class JointStateTalker(Node):
    def __init__(self) -> None:
        super().__init__("joint_state_talker")
        robot = self.declare_parameter("robot", "go2").value
        rate_hz = float(self.declare_parameter("rate_hz", 50.0).value)
        topic = self.declare_parameter("topic", "joint_states").value
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self._spec = load_robot_spec(robot)
        self._pub = self.create_publisher(JointState, topic, 10)
        self._timer = self.create_timer(1.0 / rate_hz, self._publish)
        self.get_logger().info(f"publishing the {self._spec.name} default pose ({self._spec.num_joints} joints) "
                               f"on '{topic}' at {rate_hz:g} Hz")

    def _publish(self) -> None:
        msg = JointState()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self._spec.base_body
        msg.name = list(self._spec.joint_names)
        msg.position = [float(v) for v in self._spec.default_pos]
        msg.velocity = [0.0] * self._spec.num_joints
        msg.effort = [0.0] * self._spec.num_joints
        self._pub.publish(msg)


def main(args=None):
    """Console-script entry point."""
    return run_node(JointStateTalker, args)

if __name__ == "__main__":
    raise SystemExit(main())
