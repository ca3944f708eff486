"""Thin ROS 2 nodes: convert messages, call trirl_ros.core."""
