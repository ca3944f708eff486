"""``trainer_node``: the ``trirl train`` job as a ROS 2 node (``ros2 launch trirl_ros train.launch.py``).

A worker thread drives :class:`trirl_ros.core.train.run.TrainingRun` (the same runner as
``trirl train``); the executor thread only serves topics, timers and services, so the node stays
responsive while an iteration computes.

Parameters (node settings only; hyperparameters live in the task YAML):
    config (str): task YAML path, or a task name under config/tasks/ (``go2_trot``)
    run_dir (str): run folder; default ``runs/<task>_<time>``. A folder holding
        ``checkpoints/latest.pt`` is resumed with its own config.yaml (config / overrides ignored).
    device (str): '' (the config's) | cpu | cuda | auto -- the ``device`` override
    overrides (str or str[]): ``key=value`` config overrides like ``trirl train --set``
        (a string is split at whitespace), e.g. ``"total_steps=20000 eval.every_iters=5"``
    diagnostics_period (float, s): period of the /diagnostics heartbeat
    service_timeout_s (float): how long ``~/save_checkpoint`` waits for the current iteration
    stop_timeout_s (float): on shutdown, how long to wait for the iteration + final checkpoint

Topics:
    ``~/progress`` (std_msgs/String, JSON, reliable + transient local, after every iteration and
    state change): state, iteration, env_steps, total_steps, imitation_score (latest evaluation),
    disc_accuracy, trust_region {eta, eta_mean_max, eta_cov_max, mean_kl, cov_kl}, steps_per_s,
    wall_s, remaining_s, run_dir, checkpoint, and ``metrics`` (the iteration's full metrics row).
    ``/diagnostics`` (diagnostic_msgs/DiagnosticArray): one status ``trainer_node: <task>``,
    OK while training, WARN when stopping, ERROR when the run failed; the numbers as key/values.
Services (std_srvs/Trigger):
    ``~/save_checkpoint``: checkpoint after the current iteration; answers with the path and step.
    ``~/stop``: finish the iteration, checkpoint, exit (code 0).
SIGINT / SIGTERM: the same as ``~/stop``. When the budget is spent the run is finished like the
CLI's (learned reward, ONNX export, summary.json) and the node exits 0; a failed run exits 1.
"""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from rcl_interfaces.msg import ParameterDescriptor
from std_msgs.msg import String
from std_srvs.srv import Trigger

from trirl_ros.core.config import ConfigError, config_path, package_root
from trirl_ros.ros.node_main import SPIN_ENDINGS, ended_by_shutdown

STATES = ("preparing", "training", "stopping", "stopped", "finished", "failed")
_TR_KEYS = {"eta": "tr/eta", "eta_mean_max": "tr/eta_mean_max", "eta_cov_max": "tr/eta_cov_max",
            "mean_kl": "tr/mean_kl", "cov_kl": "tr/cov_kl"}


def resolve_task_path(value: str) -> Path:
    """A task YAML path, or a task name/file under config/tasks/ (``go2_trot``, ``go2_trot.yaml``),
    or a path relative to the package root. Raises ConfigError naming the value."""
    p = Path(value).expanduser()
    candidates = [p, config_path("tasks", value), config_path("tasks", f"{value}.yaml"), package_root() / value]
    for c in candidates:
        if c.is_file():
            return c
    raise ConfigError(f"parameter config={value!r}: no such task file (looked at {p}, config/tasks/)")


class _CheckpointRequest:
    """A ``~/save_checkpoint`` call waiting for the worker: path/step are set, then ``done``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.path: Path | None = None
        self.step = 0
        self.error = ""


class TrainerNode(Node):
    """See the module docstring. ``done`` (rclpy Future) completes with the exit code when the
    worker has ended (budget spent, stopped, or failed)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("trainer_node", **kwargs)
        text = ParameterDescriptor
        self.declare_parameter("config", "", text(description="task YAML or task name (config/tasks/<name>.yaml)"))
        self.declare_parameter("run_dir", "", text(description="run folder (resumed if it has a checkpoint)"))
        self.declare_parameter("device", "", text(description="'' (config's) | cpu | cuda | auto"))
        self.declare_parameter("overrides", "", text(description="key=value config overrides (string or list)",
                                                     dynamic_typing=True))
        self.declare_parameter("diagnostics_period", 1.0)
        self.declare_parameter("service_timeout_s", 120.0)
        self.declare_parameter("stop_timeout_s", 300.0)

        self.run_dir, self.cfg, self.resuming = self._plan()
        self.run = None
        self.exit_code: int | None = None
        self.error = ""
        self._state = "preparing"
        self._row: dict = {}
        self._score: float | None = None
        self._checkpoint: str | None = None
        self._status_lock = threading.Lock()
        self._requests: list[_CheckpointRequest] = []
        self._requests_lock = threading.Lock()
        self._stop = threading.Event()
        self.done = Future()

        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._progress_pub = self.create_publisher(String, "~/progress", qos)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        services = ReentrantCallbackGroup()  # save_checkpoint blocks; stop must still be served
        self.create_service(Trigger, "~/save_checkpoint", self._on_save_checkpoint, callback_group=services)
        self.create_service(Trigger, "~/stop", self._on_stop, callback_group=services)
        period = float(self.get_parameter("diagnostics_period").value)
        self.create_timer(period, self._publish_diagnostics, callback_group=MutuallyExclusiveCallbackGroup())
        self._worker = threading.Thread(target=self._train, name="trirl-training", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ setup
    def _overrides(self) -> list[str]:
        value = self.get_parameter("overrides").value
        if value is None or value == "":
            items = []
        elif isinstance(value, str):
            items = value.split()
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            items = [v for v in value if v.strip()]
        else:
            raise ConfigError(f"parameter overrides must be a string or a string list, got {value!r}")
        device = str(self.get_parameter("device").value or "").strip()
        return items + ([f"device={device}"] if device else [])

    def _plan(self):
        """(run_dir, TaskConfig, resuming): the config is loaded and validated here, before the
        node is up, so a bad config / override fails at start-up with a message naming it."""
        from trirl_ros.core.train.run import CHECKPOINT, CONFIG
        from trirl_ros.core.train.task import load_task_config

        run_dir_param = str(self.get_parameter("run_dir").value or "").strip()
        config = str(self.get_parameter("config").value or "").strip()
        overrides = self._overrides()
        if run_dir_param and (Path(run_dir_param) / CHECKPOINT).is_file():
            run_dir = Path(run_dir_param)
            if config or overrides:
                self.get_logger().warning(f"resuming {run_dir} with its own {CONFIG}: config/overrides/device "
                                          f"parameters are ignored")
            return run_dir, load_task_config(run_dir / CONFIG), True
        if not config:
            raise ConfigError("parameter config is required (a task YAML or name under config/tasks/), "
                              "unless run_dir holds a checkpoint to resume")
        cfg = load_task_config(resolve_task_path(config), overrides)
        run_dir = Path(run_dir_param) if run_dir_param else Path("runs") / f"{cfg.name}_{time.strftime('%Y%m%d-%H%M%S')}"
        return run_dir, cfg, False

    # ------------------------------------------------------------------ worker thread
    def _train(self) -> None:
        from trirl_ros.core.train.run import TrainingRun

        log = self.get_logger()
        code = 1
        run = None
        try:
            self._set_state("preparing")  # dataset import + env build take seconds
            if self.resuming:
                run = TrainingRun.resume(self.run_dir)
            else:
                run = TrainingRun.create(self.cfg, self.run_dir)
            self.run = run
            run.add_progress_callback(self._on_row)
            log.info(f"training {self.cfg.name}: {self.cfg.algo.algorithm} on {run.robot.name}, "
                     f"{self.cfg.num_envs} envs, budget {run.total_steps} steps, run_dir {self.run_dir}"
                     + (f" (resumed at step {run.env_steps})" if self.resuming else ""))
            self._set_state("stopping" if self._stop.is_set() else "training")
            if run.iteration == 0 and run.last_eval is None and not self._stop.is_set():
                run.evaluate_initial()
            while not run.done and not self._stop.is_set():
                run.step_iteration()
                self._serve_requests(run)
            path = run.save_checkpoint()
            self._checkpoint = str(path)
            self._serve_requests(run, path)
            if run.done:
                summary = run.finish()
                log.info(f"finished: {summary['steps']} steps, imitation score {summary['score']}, "
                         f"policy {summary.get('onnx')}")
                self._set_state("finished")
            else:
                log.info(f"stopped at step {run.env_steps} (iteration {run.iteration}); checkpoint {path}")
                self._set_state("stopped")
            code = 0
        except Exception as exc:  # the node reports it and exits 1
            self.error = f"{type(exc).__name__}: {exc}"
            log.error(f"training failed: {self.error}")
            self._set_state("failed")
        finally:
            if run is not None:
                try:
                    run.close()
                except Exception as exc:
                    log.warning(f"closing the run: {exc}")
            self._fail_requests(self.error or "training has ended")
            self.exit_code = code
            self.done.set_result(code)

    def _serve_requests(self, run, path: Path | None = None) -> None:
        with self._requests_lock:
            pending, self._requests = self._requests, []
        if not pending:
            return
        path = path or run.save_checkpoint()
        self._checkpoint = str(path)
        for req in pending:
            req.path, req.step = path, run.env_steps
            req.done.set()

    def _fail_requests(self, why: str) -> None:
        with self._requests_lock:
            pending, self._requests = self._requests, []
        for req in pending:
            req.error = why
            req.done.set()

    # ------------------------------------------------------------------ progress
    def _on_row(self, row: dict) -> None:
        """TrainingRun progress callback (worker thread)."""
        with self._status_lock:
            self._row = dict(row)
            if "eval/score" in row:
                self._score = float(row["eval/score"])
        self._publish_all()

    def _set_state(self, state: str) -> None:
        with self._status_lock:
            self._state = state
        self._publish_all()

    def progress(self) -> dict:
        """The ``~/progress`` payload (see module doc)."""
        with self._status_lock:
            row, state, score = dict(self._row), self._state, self._score
        run = self.run
        steps = int(row.get("step", run.env_steps if run is not None else 0))
        total = int(self.cfg.total_steps)
        sps = row.get("perf/steps_per_s")
        wall = row.get("wall_s")
        remaining = None
        if wall and steps > 0 and state == "training":  # wall_s and steps both count from step 0
            remaining = max(total - steps, 0) * wall / steps
        return {
            "state": state, "task": self.cfg.name, "algorithm": self.cfg.algo.algorithm,
            "run_dir": str(self.run_dir), "iteration": int(row.get("iteration", run.iteration if run else 0)),
            "env_steps": steps, "total_steps": total, "fraction": min(steps / total, 1.0),
            "imitation_score": score, "disc_accuracy": row.get("disc/accuracy"),
            "trust_region": {k: row.get(v) for k, v in _TR_KEYS.items()},
            "steps_per_s": sps, "wall_s": wall, "remaining_s": remaining,
            "checkpoint": self._checkpoint, "error": self.error or None,
            "metrics": {k: v for k, v in row.items() if isinstance(v, (int, float)) and math.isfinite(v)},
        }

    def _diagnostic(self, p: dict) -> DiagnosticArray:
        level = {"failed": DiagnosticStatus.ERROR, "stopping": DiagnosticStatus.WARN}.get(p["state"],
                                                                                             DiagnosticStatus.OK)
        score = "n/a" if p["imitation_score"] is None else f"{p['imitation_score']:.3f}"
        message = (f"{p['state']}: iteration {p['iteration']}, step {p['env_steps']}/{p['total_steps']}, "
                   f"imitation score {score}" + (f" ({p['error']})" if p["error"] else ""))
        values = {k: p[k] for k in ("state", "run_dir", "iteration", "env_steps", "total_steps", "imitation_score",
                                    "disc_accuracy", "steps_per_s", "remaining_s", "checkpoint")}
        values.update({f"tr/{k}": v for k, v in p["trust_region"].items()})
        status = DiagnosticStatus(level=level, name=f"trainer_node: {p['task']}", message=message,
                                  hardware_id=p["run_dir"],
                                  values=[KeyValue(key=k, value="" if v is None else str(v)) for k, v in values.items()])
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        return msg

    def _publish_all(self) -> None:
        p = self.progress()
        self._publish(self._progress_pub, String(data=json.dumps(p)))
        self._publish(self._diag_pub, self._diagnostic(p))

    def _publish_diagnostics(self) -> None:
        self._publish(self._diag_pub, self._diagnostic(self.progress()))

    def _publish(self, pub, msg) -> None:
        if not self.context.ok():
            return  # shutting down (SIGINT): the worker still finishes its checkpoint
        try:
            pub.publish(msg)
        except Exception as exc:  # publisher destroyed while shutting down
            self.get_logger().debug(f"publish skipped: {exc}")

    # ------------------------------------------------------------------ services
    def _on_save_checkpoint(self, request, response):
        if self.done.done():
            response.success = False
            response.message = f"training has ended ({self._state}); last checkpoint {self._checkpoint}"
            return response
        req = _CheckpointRequest()
        with self._requests_lock:
            self._requests.append(req)
        timeout = float(self.get_parameter("service_timeout_s").value)
        if not req.done.wait(timeout):
            response.success = False
            response.message = f"no checkpoint within {timeout:g} s (the iteration is still running; it will be written)"
        elif req.error:
            response.success = False
            response.message = req.error
        else:
            response.success = True
            response.message = f"checkpoint {req.path} at step {req.step}"
        return response

    def _on_stop(self, request, response):
        self.request_stop("~/stop service")
        response.success = True
        response.message = (f"stopping after iteration {self.run.iteration if self.run else 0}; the final "
                            f"checkpoint goes to {self.run_dir / 'checkpoints' / 'latest.pt'}")
        return response

    def request_stop(self, why: str) -> None:
        if not self._stop.is_set():
            self.get_logger().info(f"stop requested ({why}): finishing the iteration, then checkpointing")
            self._stop.set()
            if not self.done.done():
                self._set_state("stopping")

    def shutdown_training(self) -> int:
        """Stop the worker (finish the iteration, final checkpoint) and wait for it; returns the
        exit code (0 when the checkpoint was written, 1 on failure or timeout)."""
        self.request_stop("shutdown")
        timeout = float(self.get_parameter("stop_timeout_s").value)
        self._worker.join(timeout)
        if self._worker.is_alive():
            self.get_logger().error(f"training did not stop within {timeout:g} s; exiting without a final checkpoint")
            return 1
        return int(self.exit_code or 0)


def main(args=None):
    rclpy.init(args=args)
    node = None
    code = 0
    executor = MultiThreadedExecutor(num_threads=2)  # a blocking ~/save_checkpoint leaves a thread free
    try:
        node = TrainerNode()
        executor.add_node(node)
        executor.spin_until_future_complete(node.done)
    except SPIN_ENDINGS as exc:
        if not ended_by_shutdown(exc):
            raise
    except (ConfigError, ValueError, FileNotFoundError) as exc:  # bad parameters / config: no traceback
        rclpy.logging.get_logger("trainer_node").error(str(exc))
        code = 2
    finally:
        if node is not None:
            code = code or node.shutdown_training()
            node.destroy_node()
        executor.shutdown(timeout_sec=1.0)  # joins its thread pool (else interpreter exit waits on it)
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
