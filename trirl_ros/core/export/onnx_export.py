"""Export a policy to ONNX with its PolicySpec YAML, verified against torch, written atomically.

:func:`export_policy` traces the deterministic mean-action graph (normaliser inside) with a pinned
opset, named input ``obs`` (batch, D) and output ``action`` (batch, A), then runs onnxruntime against
torch on ``n_verify`` random observations. Only when the max absolute difference is <= ``tol`` are
the ``.onnx`` file and its ``.yaml`` spec renamed into place; otherwise nothing is written and
:class:`ExportVerificationError` says by how much it failed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from trirl_ros.core.deploy.policy_spec import PolicySpec, spec_from_robot, spec_path_for
from trirl_ros.core.envs.obs_spec import ObsSpec
from trirl_ros.core.export.policy_modules import MeanActionGraph
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)

OPSET = 18
INPUT_NAME = "obs"
OUTPUT_NAME = "action"
DEFAULT_TOL = 1e-5
DEFAULT_N_VERIFY = 1000


class ExportVerificationError(RuntimeError):
    """onnxruntime and torch disagree on the exported graph (nothing was written)."""


@dataclass(frozen=True)
class ExportResult:
    onnx_path: Path
    spec_path: Path
    max_abs_diff: float  # onnxruntime vs torch over the verification observations
    n_verify: int
    spec: PolicySpec


def export_policy(normalizer: nn.Module, actor: nn.Module, robot: RobotSpec, obs: ObsSpec,
                  out_path: str | Path, *, fingerprint: str = "", spec: PolicySpec | None = None,
                  action_clip: float | None = None,
                  opset: int = OPSET, n_verify: int = DEFAULT_N_VERIFY, tol: float = DEFAULT_TOL,
                  seed: int = 0, graph_hook: Callable | None = None) -> ExportResult:
    """Export ``actor(normalizer(obs))`` to ``out_path`` (.onnx) and its spec beside it (.yaml).

    Args:
        normalizer: (N, D) -> (N, D) module (``nn.Identity()`` if none). actor: (N, D) -> (N, A).
        robot / obs: the robot and observation spec the policy was trained with; D must equal
            ``obs.dim(J)`` and A must equal J.
        fingerprint: training-run identification written into the spec.
        action_clip: the training env's symmetric clip of the raw action (None: none), written
            into the spec so the deploy side clips exactly as the env did.
        spec: a ready PolicySpec (third-party joint order/gains); default: built from ``robot``.
        opset: pinned ONNX opset. n_verify / tol: verification sample count and max abs diff.
        seed: seed of the verification observations.
        graph_hook: optional ``onnx.ModelProto -> onnx.ModelProto`` pass applied before
            verification (e.g. a graph optimisation); the verification guards its result.
    Returns:
        :class:`ExportResult`. Raises ExportVerificationError (nothing written) on disagreement,
        ValueError on dimension mismatch.
    """
    import onnx

    out_path = Path(out_path)
    if out_path.suffix != ".onnx":
        raise ValueError(f"output file must end in .onnx, got {out_path}")
    if spec is None:
        spec = spec_from_robot(robot, obs, opset=opset, fingerprint=fingerprint, action_clip=action_clip)
    else:
        spec.check_robot(robot)
    if spec.opset != opset:
        import dataclasses

        spec = dataclasses.replace(spec, opset=opset)
    obs_dim, act_dim = spec.obs_dim, spec.num_joints
    graph = MeanActionGraph(normalizer, actor).eval()
    try:
        with torch.no_grad():
            probe = graph(torch.zeros(2, obs_dim))
    except RuntimeError as exc:
        raise ValueError(f"policy does not accept observations of width {obs_dim} (the obs spec for "
                         f"{robot.name}): {exc}") from exc
    if probe.shape != (2, act_dim):
        raise ValueError(f"policy maps obs (2, {obs_dim}) to {tuple(probe.shape)}, expected (2, {act_dim})")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path = spec_path_for(out_path)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out_path.stem}.", dir=out_path.parent))
    try:
        tmp_onnx = tmp_dir / out_path.name
        _torch_export(graph, obs_dim, tmp_onnx, opset)
        model = onnx.load(str(tmp_onnx))
        if graph_hook is not None:
            model = graph_hook(model)
            onnx.save(model, str(tmp_onnx))
        onnx.checker.check_model(model)
        versions = {o.domain: o.version for o in model.opset_import}
        if versions.get("", versions.get("ai.onnx")) != opset:
            raise ExportVerificationError(f"exported opset {versions} is not the pinned opset {opset}")
        diff = verify_onnx(tmp_onnx, graph, obs_dim, n_verify=n_verify, seed=seed)
        if not diff <= tol:
            raise ExportVerificationError(
                f"onnxruntime vs torch max abs difference {diff:.3g} exceeds {tol:g} on {n_verify} "
                f"random observations; nothing written to {out_path}")
        tmp_spec = tmp_dir / spec_path.name
        tmp_spec.write_text(spec.to_yaml())
        os.replace(tmp_onnx, out_path)
        os.replace(tmp_spec, spec_path)
    finally:
        for leftover in tmp_dir.iterdir():
            leftover.unlink()
        tmp_dir.rmdir()
    log.info("exported %s (+ %s): obs %d -> action %d, opset %d, max abs diff %.3g over %d obs",
             out_path, spec_path.name, obs_dim, act_dim, opset, diff, n_verify)
    return ExportResult(out_path, spec_path, float(diff), n_verify, spec)


def _torch_export(graph: nn.Module, obs_dim: int, path: Path, opset: int) -> None:
    """torch.onnx.export (dynamo exporter) with a dynamic batch; single file, no external data.
    The exporter's console chatter is captured and logged at debug level."""
    batch = torch.export.Dim("batch", min=1, max=65536)
    chatter = io.StringIO()
    noisy = {"onnx_ir": logging.WARNING, "onnxscript": logging.WARNING, "torch.onnx": logging.WARNING,
             # "torchvision is not installed. Skipping torchvision::nms" and the like
             "torch.onnx._internal.exporter._registration": logging.ERROR}
    loggers = {logging.getLogger(n): lv for n, lv in noisy.items()}
    levels = {lg: lg.level for lg in loggers}
    for lg, lv in loggers.items():
        lg.setLevel(max(lg.getEffectiveLevel(), lv))
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [lg.setLevel(lv) for lg, lv in levels.items()])
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore", FutureWarning)
        stack.enter_context(contextlib.redirect_stdout(chatter))
        stack.enter_context(torch.no_grad())
        torch.onnx.export(
            graph, (torch.zeros(1, obs_dim),), str(path), input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME], opset_version=opset, dynamo=True,
            dynamic_shapes={"obs": {0: batch}}, external_data=False, verbose=False,
        )
    if chatter.getvalue():
        log.debug("torch.onnx: %s", chatter.getvalue().strip())


def verify_onnx(onnx_path: str | Path, reference: nn.Module, obs_dim: int, n_verify: int = DEFAULT_N_VERIFY,
                seed: int = 0) -> float:
    """Max abs difference between onnxruntime (CPU) and ``reference`` on ``n_verify`` random
    observations (N(0, 1) scaled by a spread of magnitudes, float32 (n_verify, obs_dim)), checked
    batched and one by one for the first 16 (the deploy shape (1, D))."""
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    obs = (rng.standard_normal((n_verify, obs_dim)) * rng.choice([0.1, 1.0, 3.0], (n_verify, 1)))
    obs = obs.astype(np.float32)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: obs})[0]
    with torch.no_grad():
        want = reference(torch.from_numpy(obs)).numpy()
    if got.shape != want.shape:
        raise ExportVerificationError(f"onnxruntime output shape {got.shape} != torch {want.shape}")
    diff = float(np.max(np.abs(got - want))) if np.isfinite(got).all() else float("inf")
    for i in range(min(16, n_verify)):
        one = session.run([OUTPUT_NAME], {INPUT_NAME: obs[i:i + 1]})[0]
        diff = max(diff, float(np.max(np.abs(one - want[i:i + 1]))))
    return diff
