"""trirl_ros: teach Unitree robots to move from motion-capture demonstrations with TRIRL.

``trirl_ros.core`` is the ROS-free library (data, envs, algorithms, export, deploy logic);
``trirl_ros.ros`` holds the thin rclpy nodes on top of it.
"""

__version__ = "0.1.0"
