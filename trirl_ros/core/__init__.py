"""ROS-free core library. Nothing under this package may import rclpy or ROS message packages."""
