"""Robot backends behind :class:`trirl_ros.core.deploy.backends.base.RobotBackend`."""
