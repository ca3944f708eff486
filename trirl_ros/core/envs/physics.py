"""Physics backends of :class:`~trirl_ros.core.envs.locomotion.LocomotionEnv`: advance N full physics
states (N, nstate) = [time, qpos (nq), qvel (nv)] by ``substeps`` MuJoCo steps under fixed controls.

- ``mujoco`` (:class:`RolloutPhysics`): CPU MuJoCo through ``mujoco.rollout`` on C threads, float64.
- ``warp`` (:class:`WarpPhysics`): MuJoCo Warp (``mujoco-warp`` + ``warp-lang``), all N worlds batched on
  one device (a CUDA GPU, or warp's CPU device for development and the equivalence tests), float32.

Both start every policy step from a zero solver warm-start, so a step depends only on the state
and the controls. The env logic around them (observations, resets, terminations) is the same numpy
code for both: with ``warp`` the states cross between device and host once per policy step (not per
physics step); observations computed on the device are not implemented.
"""

from __future__ import annotations

import logging

import mujoco
import numpy as np
from mujoco import rollout as mj_rollout

log = logging.getLogger(__name__)

BACKENDS = ("mujoco", "warp")


class RolloutPhysics:
    """CPU MuJoCo: ``num_threads`` rollout threads (the GIL is released)."""

    def __init__(self, model: mujoco.MjModel, num_envs: int, substeps: int, num_threads: int = 1) -> None:
        self.model, self.substeps = model, int(substeps)
        self.num_threads = min(int(num_threads), int(num_envs))
        nstate = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
        self._models = [model] * num_envs
        self._out = np.zeros((num_envs, self.substeps, nstate))
        self._ctrl = np.zeros((num_envs, self.substeps, model.nu))
        self._roll = mj_rollout.Rollout(nthread=self.num_threads)
        self._datas = [mujoco.MjData(model) for _ in range(self.num_threads)]

    def step(self, state: np.ndarray, ctrl: np.ndarray) -> None:
        """state (N, nstate) float64, advanced in place; ctrl (N, nu) held for every substep."""
        self._ctrl[:] = ctrl[:, None, :]
        self._roll.rollout(self._models, self._datas, state, self._ctrl, nstep=self.substeps,
                           state=self._out, skip_checks=True)
        state[:] = self._out[:, -1]

    def close(self) -> None:
        if self._roll is not None:
            self._roll.close()
            self._roll = None


class WarpPhysics:
    """MuJoCo Warp: N worlds of ``model`` on ``device`` ('cpu', 'cuda', 'cuda:1', ...).

    ``nconmax`` / ``njmax``: contacts / constraint rows allocated per world. A world that needs more
    loses constraints (mujoco_warp prints an overflow warning); mujoco_warp's default njmax (64)
    overflowed on the walking G1 (pyramidal friction cones: 4 rows per contact, feet of several
    contacts each, joint limits), so the defaults here leave room: 48 contacts, 256 rows.
    """

    def __init__(self, model: mujoco.MjModel, num_envs: int, substeps: int, device: str = "cuda",
                 nconmax: int = 48, njmax: int = 256) -> None:
        try:
            import mujoco_warp as mjw
            import warp as wp
        except ImportError as exc:
            raise ImportError(f"env backend 'warp' needs the packages mujoco-warp and warp-lang "
                              f"(pip install mujoco-warp warp-lang): {exc}") from exc
        if model.na:
            raise ValueError(f"env backend 'warp': the model has {model.na} actuator activation states; "
                             "the state layout [time, qpos, qvel] assumes none")
        quiet_init(wp)
        names = [str(d) for d in wp.get_devices()]
        try:
            self.device = wp.get_device(device)
        except Exception as exc:  # warp raises RuntimeError / ValueError by version
            raise RuntimeError(f"env backend 'warp': no device {device!r} (warp sees {names}): {exc}") from exc
        self._wp, self._mjw = wp, mjw
        self.model, self.substeps, self.num_envs = model, int(substeps), int(num_envs)
        self.num_threads = 1
        nq, nv = model.nq, model.nv
        with wp.ScopedDevice(self.device):
            self._m = mjw.put_model(model)
            self._d = mjw.put_data(model, mujoco.MjData(model), nworld=num_envs, nconmax=nconmax, njmax=njmax)
        self._slices = (slice(0, 1), slice(1, 1 + nq), slice(1 + nq, 1 + nq + nv))
        log.info("warp physics: %d worlds on %s", num_envs, self.device)

    def step(self, state: np.ndarray, ctrl: np.ndarray) -> None:
        """state (N, nstate) float64, advanced in place; ctrl (N, nu) held for every substep."""
        wp, d = self._wp, self._d
        t, qp, qv = self._slices
        with wp.ScopedDevice(self.device):
            d.time.assign(state[:, t].reshape(-1))  # float64 host -> float32 device
            d.qpos.assign(state[:, qp])
            d.qvel.assign(state[:, qv])
            d.ctrl.assign(ctrl)
            d.qacc_warmstart.zero_()
            for _ in range(self.substeps):
                self._mjw.step(self._m, d)
            state[:, t] = d.time.numpy().reshape(-1, 1)
            state[:, qp] = d.qpos.numpy()
            state[:, qv] = d.qvel.numpy()

    def close(self) -> None:
        self._d = self._m = None


def quiet_init(wp) -> None:
    """wp.init() without warp's banner and its line per kernel module loaded (warnings stay)."""
    wp.config.quiet = True
    wp.config.log_level = max(wp.config.log_level, wp.LOG_WARNING)
    wp.init()


def make_physics(backend: str, model: mujoco.MjModel, num_envs: int, substeps: int, num_threads: int = 1,
                 device: str = "cuda"):
    """The physics of ``backend`` (see :data:`BACKENDS`)."""
    if backend == "mujoco":
        return RolloutPhysics(model, num_envs, substeps, num_threads)
    if backend == "warp":
        return WarpPhysics(model, num_envs, substeps, device)
    raise ValueError(f"unknown env backend {backend!r}; expected one of {list(BACKENDS)}")
