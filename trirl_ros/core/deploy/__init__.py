"""Deployment core (ROS-free): ONNX policy runner, observation building from the policy spec,
safety state machine and robot backends."""
