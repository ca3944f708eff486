"""Side-by-side offscreen video: the policy (left) beside the reference motion (right).

Both panels render the same MuJoCo model from two ``MjData`` set kinematically from the state
tracks (qpos (F, nq) each), each with a camera tracking its own robot's base, and are written to
an H.264 mp4 through imageio's ffmpeg plugin.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from trirl_ros.core.viz.gl import use_offscreen_gl

log = logging.getLogger(__name__)


def frame_indices(num_states: int, policy_hz: float, max_fps: float = 30.0) -> tuple[np.ndarray, float]:
    """States to draw and the video rate: every k-th of ``num_states`` states at ``policy_hz``,
    k = ceil(policy_hz / max_fps). Returns (indices (F,), fps = policy_hz / k); 50 Hz -> 25 fps."""
    k = max(1, int(np.ceil(policy_hz / max_fps - 1e-9)))
    return np.arange(0, num_states, k), policy_hz / k


class SideBySideRenderer:
    """Renders (agent qpos (nq,), reference qpos (nq,)) -> RGB frame (height, 2 * width, 3) uint8.

    Sets ``model.vis`` offscreen size / multisampling for its own renderer (pass a model you own)."""

    def __init__(self, model, track_body: str, width: int = 320, height: int = 240) -> None:
        use_offscreen_gl()
        import mujoco

        from trirl_ros.core.robots.models import body_id

        self.model = model
        vis = model.vis.global_
        vis.offwidth, vis.offheight = max(vis.offwidth, width), max(vis.offheight, height)
        # Software GL (llvmpipe) on a small CPU: shadows, reflections and multisampling cost ~10x
        # the frame time (measured 1.2 s -> 0.12 s per 320x240 Go2 panel); a preview needs none.
        model.vis.quality.offsamples = 0
        self.renderer = mujoco.Renderer(model, height, width)
        for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION):
            self.renderer.scene.flags[flag] = 0
        self.data = [mujoco.MjData(model), mujoco.MjData(model)]
        self.cameras = []
        for _ in range(2):
            cam = mujoco.MjvCamera()
            cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            cam.trackbodyid = body_id(model, track_body)
            cam.azimuth, cam.elevation = 135.0, -15.0
            self.cameras.append(cam)
        self._mujoco = mujoco
        self._distance: float | None = None

    def frame(self, qpos: np.ndarray, ref_qpos: np.ndarray) -> np.ndarray:
        """One side-by-side frame (height, 2 * width, 3) uint8."""
        panels = []
        for data, cam, q in zip(self.data, self.cameras, (qpos, ref_qpos)):
            data.qpos[:] = q
            self._mujoco.mj_forward(self.model, data)
            if self._distance is None:  # frame the robot by its initial base height (G1 ~3 m, Go2 ~1.3 m)
                self._distance = max(1.0, 3.5 * float(data.xpos[cam.trackbodyid][2]) + 0.3)
            cam.distance = self._distance
            self.renderer.update_scene(data, camera=cam)
            panels.append(self.renderer.render())
        return np.concatenate(panels, axis=1)

    def close(self) -> None:
        self.renderer.close()


def write_video(path: str | Path, model, track_body: str, qpos: np.ndarray, ref_qpos: np.ndarray,
                policy_hz: float, width: int = 320, height: int = 240, max_fps: float = 30.0) -> int:
    """Render qpos (F0, nq) beside ref_qpos (F0, nq) to the mp4 ``path`` (written to a temporary
    file, then renamed). Returns the number of video frames F (see :func:`frame_indices`)."""
    import imageio.v2 as imageio

    if qpos.shape != ref_qpos.shape or qpos.ndim != 2 or qpos.shape[1] != model.nq:
        raise ValueError(f"state tracks must both be (F, {model.nq}), got {qpos.shape} and {ref_qpos.shape}")
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"video path must end in .mp4, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    idx, fps = frame_indices(len(qpos), policy_hz, max_fps)
    tmp = path.with_name(f".{path.stem}.tmp.mp4")
    renderer = SideBySideRenderer(model, track_body, width, height)
    try:
        writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                    pixelformat="yuv420p", macro_block_size=16, ffmpeg_log_level="error")
        try:
            for i in idx:
                writer.append_data(renderer.frame(qpos[i], ref_qpos[i]))
        finally:
            writer.close()
        os.replace(tmp, path)
    finally:
        renderer.close()
        if tmp.exists():
            tmp.unlink()
    log.info("wrote %s: %d frames at %g fps", path, len(idx), fps)
    return len(idx)
