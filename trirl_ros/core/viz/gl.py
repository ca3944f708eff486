"""Choosing an offscreen OpenGL backend for ``mujoco.Renderer`` on a headless machine.

MuJoCo picks its GL platform from ``MUJOCO_GL`` when ``mujoco`` is first imported (the default on
Linux, GLFW, needs a display). :func:`use_offscreen_gl` finds a backend that works here -- the one
named by ``MUJOCO_GL`` if set, else EGL, else OSMesa -- by rendering a tiny scene in a child process
(a failed GL import cannot be undone in-process), then points this process's renderer at it, also
when ``mujoco`` was already imported. When none works, :class:`RendererUnavailableError` names the
Debian packages to install (``make render-deps`` installs them).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

log = logging.getLogger(__name__)

#: backend -> Debian packages providing it (Mesa software rendering; no GPU or display needed)
DEBIAN_PACKAGES = {
    "egl": ("libegl1", "libegl-mesa0", "libgl1-mesa-dri"),
    "osmesa": ("libosmesa6",),
}
BACKENDS = tuple(DEBIAN_PACKAGES)

_PROBE = (
    "import mujoco\n"
    "m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><light pos=\"0 0 2\"/>"
    "<geom type=\"sphere\" size=\"0.5\"/></worldbody></mujoco>')\n"
    "d = mujoco.MjData(m); mujoco.mj_forward(m, d)\n"
    "r = mujoco.Renderer(m, 16, 16); r.update_scene(d); px = r.render(); r.close()\n"
    "assert px.shape == (16, 16, 3) and px.max() > 0, 'blank frame'\n"
)

_chosen: str | None = None


class RendererUnavailableError(RuntimeError):
    """No offscreen OpenGL backend works; the message names the packages to install."""


def install_hint() -> str:
    egl, osmesa = (" ".join(DEBIAN_PACKAGES[b]) for b in BACKENDS)
    return (f"install EGL (`apt-get install -y {egl}`, then MUJOCO_GL=egl) or OSMesa "
            f"(`apt-get install -y {osmesa}`, then MUJOCO_GL=osmesa); `make render-deps` does the first")


def probe(backend: str, timeout: float = 120.0) -> str | None:
    """Render a 16x16 frame with ``backend`` in a child process: None if it works, else the error."""
    env = dict(os.environ, MUJOCO_GL=backend, PYOPENGL_PLATFORM=backend)
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"probe timed out after {timeout:g} s"
    if proc.returncode == 0:
        return None
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {proc.returncode}"


def _activate(backend: str) -> None:
    """Make this process's ``mujoco.Renderer`` use ``backend``."""
    os.environ["MUJOCO_GL"] = backend
    os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    if "mujoco" not in sys.modules:
        return  # mujoco reads MUJOCO_GL when imported
    import importlib

    from mujoco.rendering.classic import gl_context

    module = importlib.import_module(f"mujoco.{backend}")
    # Renderer reads gl_context.GLContext when it creates its context, so this redirects it.
    gl_context.GLContext = module.GLContext


def use_offscreen_gl() -> str:
    """Select (once per process) and return the working backend name ('egl' | 'osmesa').

    Raises RendererUnavailableError naming the packages to install when none works.
    """
    global _chosen
    if _chosen is not None:
        return _chosen
    requested = os.environ.get("MUJOCO_GL", "").strip().lower()
    candidates = (requested,) if requested in BACKENDS else BACKENDS
    if requested and requested not in BACKENDS:
        log.info("MUJOCO_GL=%s is not an offscreen backend; trying %s", requested, ", ".join(BACKENDS))
    errors = []
    for backend in candidates:
        err = probe(backend)
        if err is None:
            _activate(backend)
            _chosen = backend
            log.info("offscreen rendering with MUJOCO_GL=%s", backend)
            return backend
        errors.append(f"{backend}: {err}")
    raise RendererUnavailableError(
        "no offscreen OpenGL backend works for the MuJoCo renderer (" + "; ".join(errors) + "); "
        + install_hint())
