"""``policy_deploy_node``: a lifecycle node running an exported ONNX policy on a robot backend.

Lifecycle:
    configure -- load the robot spec, the policy spec and the ONNX file; refuse a spec that does not
                 match the robot (FAILURE, the reason is logged and kept in ``last_error``); open
                 the backend (``mujoco`` in-process sim, ``ros_topics`` JointState/Imu, or
                 ``unitree_dds`` LowCmd/LowState).
    activate  -- a fresh safety state machine (WAIT_STATE) and the control timer at the policy rate.
    deactivate -- one damping command, timer stopped.  cleanup / shutdown -- backend closed.
    Transitions and control ticks exclude each other (a lock): a transition triggered from another
    thread never closes the backend under a running tick. A tick that raises damps and is logged; it
    never reaches the executor (an exception there ends ``spin`` for every node on it).

Parameters (node settings; safety/command settings come from the ``deploy_config`` YAML):
    robot (str), policy (str, .onnx), spec (str, default: beside the .onnx), backend (str),
    deploy_config (str, default config/deploy/default.yaml), autostart (bool: configure + activate
    on start-up), dds_domain (int), dds_interface (str), joint_states_topic, imu_topic,
    joint_targets_topic (ros_topics backend), diagnostics_period (s), lin_vel_source (``estimate``:
    the deploy estimator feeds policies that observe base_lin_vel; ``truth``: the mujoco backend's).

Topics: publishes ``~/safety_state`` (std_msgs/String, transient local, on every change) and
``/diagnostics`` (diagnostic_msgs/DiagnosticArray: the safety state, counters and loop overruns every
``diagnostics_period``; one ERROR status when configure fails); subscribes ``cmd_vel`` (geometry_msgs/Twist).
Services: ``~/start`` (advance ZERO_TORQUE -> RAMP / HOLD -> POLICY when not auto_start) and
``~/stop`` (operator stop -> DAMPING), both std_srvs/Trigger.
"""

from __future__ import annotations

import threading

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, QoSProfile
from std_msgs.msg import String
from std_srvs.srv import Trigger

from trirl_ros.core.deploy.config import load_deploy_config
from trirl_ros.core.deploy.controller import DeployController
from trirl_ros.core.deploy.safety import SafetyState
from trirl_ros.core.deploy.sim2sim import LIN_VEL_SOURCES, load_policy
from trirl_ros.core.robots.spec import load_robot_spec
from trirl_ros.ros.node_main import run_node

BACKENDS = ("mujoco", "ros_topics", "unitree_dds")


class PolicyDeployNode(LifecycleNode):
    """See module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("policy_deploy_node", **kwargs)
        for name, default in (("robot", ""), ("policy", ""), ("spec", ""), ("backend", "mujoco"),
                              ("deploy_config", ""), ("autostart", False), ("dds_domain", 0),
                              ("dds_interface", ""), ("joint_states_topic", "joint_states"),
                              ("imu_topic", "imu"), ("joint_targets_topic", "joint_targets"),
                              ("diagnostics_period", 1.0), ("lin_vel_source", "estimate")):
            self.declare_parameter(name, default)
        self.last_error = ""
        self.robot = self.spec = self.runner = self.cfg = self.backend = None
        self.controller: DeployController | None = None
        self._timer = self._diag_timer = None
        self._loop_lock = threading.RLock()  # control tick / diagnostics vs. lifecycle transitions
        self._tick_error_logged = False
        self._lin_vel_truth = False  # lin_vel_source, read once at configure
        self._published_state: SafetyState | None = None
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._state_pub = self.create_publisher(String, "~/safety_state", latched)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(Twist, "cmd_vel", self._on_cmd_vel, 10)
        self.create_service(Trigger, "~/start", self._on_start)
        self.create_service(Trigger, "~/stop", self._on_stop)
        self._publish_state("UNCONFIGURED")
        self._autostart = None
        if self.get_parameter("autostart").value:
            self._autostart = self.create_timer(0.0, self._do_autostart)

    # ---- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        p = {n: self.get_parameter(n).value for n in ("robot", "policy", "spec", "backend", "deploy_config")}
        try:
            if not p["robot"] or not p["policy"]:
                raise ValueError("parameters 'robot' and 'policy' are required")
            if p["backend"] not in BACKENDS:
                raise ValueError(f"parameter backend={p['backend']!r} is not one of {list(BACKENDS)}")
            source = self.get_parameter("lin_vel_source").value
            if source not in LIN_VEL_SOURCES or (source == "truth" and p["backend"] != "mujoco"):
                raise ValueError(f"parameter lin_vel_source={source!r}: 'estimate', or 'truth' with the mujoco "
                                 "backend (the only one with a ground truth)")
            self._lin_vel_truth = source == "truth"
            self.robot = load_robot_spec(p["robot"])
            self.cfg = load_deploy_config(p["deploy_config"] or None)
            self.spec, self.runner = load_policy(self.robot, p["policy"], p["spec"] or None)
            self.backend = self._make_backend(p["backend"])
        except Exception as exc:  # every failure is reported, the node stays unconfigured
            self.last_error = f"configure failed: {exc}"
            self.get_logger().error(self.last_error)
            self.robot = self.spec = self.runner = None
            status = DiagnosticStatus(name="policy_deploy_node: safety", level=DiagnosticStatus.ERROR,
                                      message=self.last_error, hardware_id=str(p["robot"]))
            self._send_diagnostics(status)
            return TransitionCallbackReturn.FAILURE
        self.last_error = ""
        self.get_logger().info(
            f"configured: robot {self.robot.name}, policy {p['policy']} (obs {self.spec.obs_dim} -> "
            f"action {self.spec.num_joints} at {self.spec.control_hz:g} Hz), backend {p['backend']}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.controller = DeployController(self.robot, self.spec, self.runner.run, self.cfg)
        if hasattr(self.backend, "start"):
            self.backend.start()
        self._timer = self.create_timer(self.controller.period, self._control_step)
        period = float(self.get_parameter("diagnostics_period").value)
        self._diag_timer = self.create_timer(period, self._publish_diagnostics)
        self._publish_state(self.controller.state)
        self.get_logger().info(f"activated: control timer at {1.0 / self.controller.period:g} Hz")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self._loop_lock:
            self._stop_timers()
            if self.controller is not None and self.backend is not None:
                self.controller.request_stop("node deactivated")
                self._tick()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self._loop_lock:
            self._release()
        self._publish_state("UNCONFIGURED")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self._loop_lock:
            self._stop_timers()
            self._release()
        return TransitionCallbackReturn.SUCCESS

    # ---- backend ------------------------------------------------------------------------------
    def _make_backend(self, kind: str):
        robot = self.robot
        if kind == "mujoco":
            from trirl_ros.core.deploy.backends.mujoco_direct import MujocoDirectBackend

            return MujocoDirectBackend(robot, realtime=True)
        if kind == "ros_topics":
            from trirl_ros.ros.ros_topics_io import make_ros_topics_backend

            return make_ros_topics_backend(
                self, robot, self.get_parameter("joint_states_topic").value,
                self.get_parameter("imu_topic").value, self.get_parameter("joint_targets_topic").value)
        try:
            from trirl_ros.core.deploy.backends.unitree_dds import UnitreeDdsBackend
            from trirl_ros.core.deploy.unitree.dds import DdsConfig
        except ImportError as exc:
            raise RuntimeError(f"backend unitree_dds is not available ({exc}); install CycloneDDS "
                               "and its Python binding (make dds)") from exc
        iface = self.get_parameter("dds_interface").value or None
        domain = int(self.get_parameter("dds_domain").value)
        config = DdsConfig.loopback(domain) if iface == "lo" else DdsConfig(domain_id=domain, interface=iface)
        return UnitreeDdsBackend.from_spec(robot, config)

    def _release(self) -> None:
        if self.backend is not None:
            for pub in getattr(self.backend, "ros_publishers", []):
                self.destroy_publisher(pub)
            for sub in getattr(self.backend, "ros_subscriptions", []):
                self.destroy_subscription(sub)
            self.backend.close()
        self.backend = self.runner = self.controller = None

    def _stop_timers(self) -> None:
        for timer in (self._timer, self._diag_timer):
            if timer is not None:
                self.destroy_timer(timer)
        self._timer = self._diag_timer = None

    # ---- control loop -------------------------------------------------------------------------
    def _control_step(self) -> None:
        with self._loop_lock:
            if self.backend is not None and self.controller is not None:
                self._tick()

    def _tick(self) -> None:
        """One controller tick and its command (caller holds the loop lock)."""
        backend, controller = self.backend, self.controller
        try:
            lin_vel = backend.base_lin_vel() if self._lin_vel_truth else None
            backend.send(controller.tick(backend.latest_state(), backend.now(), lin_vel))
        except Exception as exc:  # noqa: BLE001 -- damp, report, keep the executor alive
            if controller.state != SafetyState.DAMPING:
                controller.fsm.to(SafetyState.DAMPING, backend.now(), f"control tick failed: {exc!r}")
            if not self._tick_error_logged:
                self._tick_error_logged = True
                self.get_logger().error(f"control tick failed, damping: {exc!r}")
            try:
                backend.send(controller.shaper.damping())
            except Exception:  # noqa: BLE001 -- the link itself is down; the robot's own watchdog acts
                pass
        if controller.state != self._published_state:
            self._publish_state(controller.state)

    def _publish_state(self, state) -> None:
        self._published_state = state
        self._state_pub.publish(String(data=str(state)))

    def _publish_diagnostics(self) -> None:
        with self._loop_lock:
            c = self.controller
            if c is None:
                return
            status = DiagnosticStatus(name="policy_deploy_node: safety", hardware_id=self.robot.name)
            status.level = DiagnosticStatus.ERROR if c.state == SafetyState.DAMPING else DiagnosticStatus.OK
            last = c.fsm.transitions[-1].reason if c.fsm.transitions else "waiting for the first state"
            status.message = f"{c.state}: {last}"
            status.values = [KeyValue(key=k, value=str(v)) for k, v in (
                ("state", c.state), ("ticks", c.ticks), ("crc_errors", self.crc_errors()),
                ("loop_overruns", c.overruns), ("max_tick_gap_ms", f"{c.max_tick_gap * 1e3:.1f}"),
                ("policy", self.get_parameter("policy").value), ("backend", self.get_parameter("backend").value))]
        self._send_diagnostics(status)

    def _send_diagnostics(self, status: DiagnosticStatus) -> None:
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(msg)

    def crc_errors(self) -> int:
        """Robot states dropped for a bad CRC: by the backend (unitree_dds drops them on receipt)
        plus those the controller saw flagged (backends that pass them on with ``crc_ok`` False)."""
        dropped = int(getattr(self.backend, "crc_errors", 0) or 0)
        return dropped + (self.controller.crc_errors if self.controller is not None else 0)

    # ---- operator inputs ----------------------------------------------------------------------
    def _on_cmd_vel(self, msg: Twist) -> None:
        with self._loop_lock:
            if self.controller is not None and self.backend is not None:
                try:
                    self.controller.set_velocity_command((msg.linear.x, msg.linear.y, msg.angular.z),
                                                         self.backend.now())
                except ValueError as exc:
                    self.get_logger().warning(f"cmd_vel ignored: {exc}")

    def _on_start(self, request, response):
        with self._loop_lock:
            if self.controller is None:
                response.success, response.message = False, "not active"
            else:
                self.controller.request_start()
                response.success, response.message = True, f"start requested in {self.controller.state}"
        return response

    def _on_stop(self, request, response):
        with self._loop_lock:
            if self.controller is None:
                response.success, response.message = False, "not active"
            else:
                self.controller.request_stop("operator stop (~/stop service)")
                response.success, response.message = True, "damping requested"
        return response

    def _do_autostart(self) -> None:
        with self._loop_lock:  # a 0 s one-shot timer: two executor threads may both pick it up
            if self._autostart is None:
                return
            self.destroy_timer(self._autostart)
            self._autostart = None
        try:
            if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
                self.trigger_activate()
        except Exception as exc:  # noqa: BLE001 -- e.g. a transition requested meanwhile from outside
            self.last_error = f"autostart failed: {exc!r}"
            self.get_logger().error(self.last_error)


def main(args=None):
    """Console-script entry point."""
    return run_node(PolicyDeployNode, args)

if __name__ == "__main__":
    raise SystemExit(main())
